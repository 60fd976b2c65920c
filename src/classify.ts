/**
 * @module
 * The disconnect taxonomy: one place that decides what a mysql2 error means for
 * the connection it came from and for the work that was running on it.
 * Every shape listed here was observed against MariaDB 10.11 with mysql2 3.24, or
 * is documented by MySQL/MariaDB (see the README's error table).
 */

/**
 * What an error means.
 * - `disconnect`: the connection is dead or wedged; destroy it. Work on it may be re-run only if it cannot change the outcome.
 * - `connect-refused`: a new connection could not be made (server down, too many connections); back off and retry.
 * - `read-only`: the server refused the statement as read-only (1290/1792/1836). The statement path
 *   asks whether the server really is read-only (see `refusal.ts`): if so, a failover (destroy the
 *   connection; a new one may reach the new primary, the statement may run again); if not, a
 *   refusal of this statement (`--secure-file-priv`, a READ ONLY transaction), judged `other`.
 * - `transaction-retryable`: deadlock or lock-wait timeout; the transaction was rolled back and can be re-run whole.
 * - `fatal-config`: the server refused us for a reason a retry will not fix (credentials, unknown database).
 * - `other`: an ordinary SQL error; the connection is fine.
 */
export type ErrorClass =
  | 'disconnect'
  | 'connect-refused'
  | 'read-only'
  | 'transaction-retryable'
  | 'fatal-config'
  | 'other'

/**
 * A user extension of the taxonomy: return a class to override the built-in
 * answer, or `undefined` to keep it.
 *
 * @example
 * ```ts
 * createLifespan({ databases, classify: (err) => err.errno === 3024 ? 'other' : undefined })
 * ```
 */
export type Classifier = (error: unknown) => ErrorClass | undefined

interface ErrorLike {
  code?: unknown
  errno?: unknown
  fatal?: unknown
  message?: unknown
}

const DISCONNECT_CODES = new Set<string>([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT', // per-query timeout: the command stays queued and the connection is wedged
  'PROTOCOL_PACKETS_OUT_OF_ORDER',
  'PROTOCOL_UNEXPECTED_PACKET',
  'PROTOCOL_ERROR',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'CR_SERVER_GONE_ERROR',
  'CR_SERVER_LOST',
  'CR_SERVER_LOST_EXTENDED',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'ERR_LIFESPAN_CONNECTION_CLOSED',
  'ERR_LIFESPAN_PING_FAILED',
  'ERR_LIFESPAN_QUERY_OUTCOME_UNKNOWN',
])

// 4031 ER_CLIENT_INTERACTION_TIMEOUT (MySQL >= 8.0.24), 2006/2013/2055 client-library
// "gone away"/"lost", 1927 ER_CONNECTION_KILLED, 1053 ER_SERVER_SHUTDOWN, 1158-1161 network.
const DISCONNECT_ERRNOS = new Set<number>([4031, 2006, 2013, 2055, 1927, 1053, 1158, 1159, 1160, 1161])

const REFUSED_CODES = new Set<string>([
  'ECONNREFUSED',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ENOTFOUND',
  'EAI_AGAIN',
])
const REFUSED_ERRNOS = new Set<number>([1040, 1203])

const READ_ONLY_ERRNOS = new Set<number>([1290, 1792, 1836])
const TX_RETRYABLE_ERRNOS = new Set<number>([1205, 1213])
// 1044/1045 access denied, 1049 unknown database, 1251 auth protocol, 1698 access denied (socket auth)
const CONFIG_ERRNOS = new Set<number>([1044, 1045, 1049, 1251, 1698])

// The client cannot talk to this server as configured (TLS, auth plugin): retrying will not help.
const CONFIG_CODES = new Set<string>([
  'HANDSHAKE_NO_SSL_SUPPORT',
  'AUTH_SWITCH_PLUGIN_ERROR',
  'ER_NOT_SUPPORTED_AUTH_MODE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

const CLOSED_STATE = /closed state|connection is closed|socket has been ended|has been destroyed/i

// A Galera node outside the primary component refuses every statement with 1047 (sqlState 08S01)
// "WSREP has not yet prepared node for application use": nothing was applied, and another node
// can take it, exactly like a read-only refusal. 1047 alone is also "unknown command".
const WSREP_NOT_READY = /WSREP/
function isWsrepRefusal(errno: number | undefined, message: unknown): boolean {
  return errno === 1047 && typeof message === 'string' && WSREP_NOT_READY.test(message)
}

/**
 * Classifies an error with the built-in taxonomy.
 *
 * `code` may be a string or, on mysql2's connection `'error'` event for MySQL 8's
 * idle close, the number 4031; both are understood.
 *
 * @example
 * ```ts
 * classifyError({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }) // 'disconnect'
 * classifyError({ errno: 1213, code: 'ER_LOCK_DEADLOCK' })       // 'transaction-retryable'
 * ```
 */
export function classifyError(error: unknown): ErrorClass {
  if (typeof error !== 'object' || error === null) return 'other'
  const e = error as ErrorLike
  const code = e.code
  const errno = typeof e.errno === 'number' ? e.errno : typeof code === 'number' ? code : undefined

  if (typeof code === 'string' && REFUSED_CODES.has(code)) return 'connect-refused'
  if (errno !== undefined && REFUSED_ERRNOS.has(errno)) return 'connect-refused'
  if (errno !== undefined && CONFIG_ERRNOS.has(errno)) return 'fatal-config'
  if (typeof code === 'string' && CONFIG_CODES.has(code)) return 'fatal-config'
  if (errno !== undefined && READ_ONLY_ERRNOS.has(errno)) return 'read-only'
  if (isWsrepRefusal(errno, e.message)) return 'read-only'
  if (errno !== undefined && TX_RETRYABLE_ERRNOS.has(errno)) return 'transaction-retryable'
  if (typeof code === 'string' && DISCONNECT_CODES.has(code)) return 'disconnect'
  if (errno !== undefined && DISCONNECT_ERRNOS.has(errno)) return 'disconnect'
  if (e.fatal === true) return 'disconnect'
  if (code === undefined && typeof e.message === 'string' && CLOSED_STATE.test(e.message)) return 'disconnect'
  return 'other'
}

/** True when `error` means the connection it came from must not be used again. */
export function isConnectionBroken(cls: ErrorClass): boolean {
  return cls === 'disconnect' || cls === 'read-only'
}

/** What the server said a read-only error of a statement meant (see `refusal.ts`), per error object. */
const settled = new WeakMap<object, ErrorClass>()

/** @internal Records the judged class of `error`, so every later classification of it agrees. */
export function settleClass(error: unknown, cls: ErrorClass): void {
  if (typeof error === 'object' && error !== null) settled.set(error, cls)
}

/**
 * Builds the classifier in force: a class already judged for this very error (a read-only error
 * the server explained), then the user's extension, then the built-in taxonomy.
 */
export function makeClassifier(extension: Classifier | undefined): (error: unknown) => ErrorClass {
  const builtIn = extension ? (error: unknown) => extension(error) ?? classifyError(error) : classifyError
  return (error) => (typeof error === 'object' && error !== null && settled.get(error)) || builtIn(error)
}
