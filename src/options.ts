/**
 * @module
 * Option types, {@link DEFAULTS} and {@link resolveOptions}: the one place defaults live.
 * Options are validated up front; a bad one throws an {@link InvalidOptionError}
 * naming it. Connection URIs are never echoed back (they may hold a password).
 */
import type { PoolOptions } from 'mysql2'
import type { Classifier } from './classify.js'
import { InvalidOptionError } from './errors.js'
import { type Dict, checkBool, checkLogger, checkMs, isDict, kind, parseUri, resolveTopology } from './option-checks.js'

export { parseUri } from './option-checks.js'
import type { HostAddress, HostEntry } from './topology/addresses.js'

/**
 * A pino-compatible logger. Every method is optional; each takes `(obj, msg?)` or `(msg)`.
 * Nothing is printed when no logger is given.
 */
export interface Logger {
  debug?: (objOrMsg: unknown, msg?: string) => void
  info?: (objOrMsg: unknown, msg?: string) => void
  warn?: (objOrMsg: unknown, msg?: string) => void
  error?: (objOrMsg: unknown, msg?: string) => void
}

/** How statements are re-run after a disconnect. Acquisition is always retried, whatever this says. */
export interface RetryOptions {
  /**
   * How many times a read (or a statement marked `idempotent`) is re-run on a fresh
   * connection after a disconnect.
   *
   * @default 2
   */
  retries?: number
  /**
   * First backoff delay between attempts, in milliseconds (doubles each time, randomised).
   *
   * @default 25
   */
  minTimeoutMs?: number
  /**
   * Longest backoff delay between attempts, in milliseconds.
   *
   * @default 1000
   */
  maxTimeoutMs?: number
}

/** Settings that apply to one alias; set them at the top level as defaults for every alias, or per alias. */
export interface AliasOptions {
  /**
   * A connection older than this is replaced when it is next bound to a scope, in milliseconds.
   * Each connection gets up to 2.5% less, at random, so a pool does not expire all at once.
   * `0` turns the limit off.
   *
   * @default 1800000
   */
  maxAgeMs?: number
  /**
   * Ping a connection idle longer than `aliveBypassMs` before handing it to a scope.
   * Connections idle past the server's own `wait_timeout` are replaced without a ping either way.
   *
   * @default true
   */
  healthCheck?: boolean
  /**
   * How long a validation ping may take before the connection is destroyed and replaced, in milliseconds.
   *
   * @default 1000
   */
  pingTimeoutMs?: number
  /**
   * A connection used this recently is trusted without a ping, in milliseconds (HikariCP's alive-bypass window).
   * `0` pings on every entry to a scope (safest, and about half the throughput on a fast network).
   * Also how long a tool checkout's implicit scope may be handed from one tool checkout to the next
   * (`lifespan.pool()` outside a scope, when checkouts wait for a connection); `0` turns that off.
   *
   * @default 500
   */
  aliveBypassMs?: number
  /**
   * Bound on the whole acquisition of a connection for a scope, in milliseconds: waiting for a pool slot,
   * connecting (also through a dead network path), pinging and replacing. On expiry the call rejects
   * with `ERR_LIFESPAN_ACQUIRE_TIMEOUT`.
   *
   * @default 10000
   */
  acquireTimeoutMs?: number
  /**
   * Re-running of reads and statements marked `idempotent` after a disconnect. `false` turns statement
   * retries off (acquisition is still retried); `true` uses the defaults.
   *
   * @default { retries: 2, minTimeoutMs: 25, maxTimeoutMs: 1000 }
   */
  retry?: boolean | RetryOptions
  /**
   * How long `shutdown()` waits for open scopes before it interrupts them and kills their
   * connections server-side, in milliseconds.
   *
   * @default 10000
   */
  shutdownTimeoutMs?: number
  /**
   * When `true`, `db()` outside any scope throws `ERR_LIFESPAN_NO_SCOPE` instead of running the
   * statement in an implicit one-statement scope.
   *
   * @default false
   */
  strict?: boolean
  /**
   * Longest time one statement may run, in milliseconds; on expiry the statement rejects with
   * `ERR_LIFESPAN_QUERY_TIMEOUT` and its connection is destroyed, never returned to the pool.
   * `0` means no limit (a statement in flight on a silently dropped path then waits for the kernel).
   *
   * @default 0
   */
  queryTimeoutMs?: number
  /**
   * Warn (through `logger.warn`) when a scope holds a connection longer than this, with the stack
   * where the scope was opened. `0` turns leak detection off. With leak detection on, tool
   * checkouts (`lifespan.pool()`) are not handed from one to the next: each holds its own scope.
   *
   * @default 0
   */
  leakWarningMs?: number
  /**
   * A replica whose replication is further behind the primary than this, in milliseconds, gets no
   * reads until it has caught up (only with `replicas`). Measured by comparing GTID positions where
   * the server has them, else from `Seconds_Behind_Master` (a NULL there, a stopped SQL thread,
   * counts as not replicating, never as 0).
   *
   * @default 1000
   */
  maxReplicaLagMs?: number
  /**
   * A pino-compatible logger for this alias (or for everything, at the top level).
   *
   * @default undefined
   */
  logger?: Logger
}

/**
 * Scale-out options of one alias: candidate writers (or Galera nodes) and read replicas. Each entry
 * is `'host'`, `'host:port'` or `{ host, port }`; credentials, database and every other option are
 * the alias's.
 */
export interface TopologyOptions {
  /**
   * Candidate writers of a replication set, or the nodes of a Galera cluster, instead of `host`.
   * Writes go to the first host that says it is writable (`@@read_only = 0`, and on Galera
   * `wsrep_ready = ON`), and move when it stops being so. Entries without a port get the alias's `port`.
   *
   * @example
   * ```ts
   * hosts: ['db1:3306', 'db2:3306', { host: 'db3', port: 3307 }]
   * ```
   */
  hosts?: HostEntry[]
  /**
   * Read replicas: plain reads outside a transaction, in a scope that has not written on the alias,
   * go to a healthy one (down, not replicating or lagging past `maxReplicaLagMs`: skipped).
   *
   * @example
   * ```ts
   * replicas: ['replica1', 'replica2:3307']
   * ```
   */
  replicas?: HostEntry[]
}

/** One database: a connection URI, or mysql2 pool options plus per-alias {@link AliasOptions}. */
export type DatabaseConfig = string | (PoolOptions & AliasOptions & TopologyOptions)

/**
 * Options of {@link createLifespan}.
 *
 * @example
 * ```ts
 * createLifespan({
 *   databases: { default: process.env.MYSQL_URL!, replica: { host: 'replica', user: 'app', maxAgeMs: 600_000 } },
 *   acquireTimeoutMs: 5_000,
 * })
 * ```
 */
export interface LifespanOptions extends AliasOptions {
  /** Named databases, like Django's `DATABASES`. `db()` with no argument uses `default` (or the only alias). */
  databases: Record<string, DatabaseConfig>
  /** Extends the disconnect taxonomy: return a class to override the built-in answer, `undefined` to keep it. */
  classify?: Classifier
}

/** Defaults of every {@link AliasOptions} option. */
export const DEFAULTS = Object.freeze({
  maxAgeMs: 1_800_000,
  healthCheck: true,
  pingTimeoutMs: 1_000,
  aliveBypassMs: 500,
  acquireTimeoutMs: 10_000,
  retry: Object.freeze({ retries: 2, minTimeoutMs: 25, maxTimeoutMs: 1_000 }),
  shutdownTimeoutMs: 10_000,
  strict: false,
  queryTimeoutMs: 0,
  leakWarningMs: 0,
  maxReplicaLagMs: 1_000,
  logger: undefined,
})

/** mysql2 defaults this library changes: keepalive probes start after 10 s instead of the kernel's 2 h. */
export const MYSQL2_DEFAULTS = Object.freeze({
  enableKeepAlive: true,
  keepAliveInitialDelay: 10_000,
})

/** @internal Options of one alias after defaults and validation. */
export interface ResolvedAliasOptions {
  readonly alias: string
  readonly maxAgeMs: number
  readonly healthCheck: boolean
  readonly pingTimeoutMs: number
  readonly aliveBypassMs: number
  readonly acquireTimeoutMs: number
  readonly retry: Readonly<Required<RetryOptions>> | false
  readonly shutdownTimeoutMs: number
  readonly strict: boolean
  readonly queryTimeoutMs: number
  readonly leakWarningMs: number
  readonly maxReplicaLagMs: number
  readonly logger: Logger | undefined
  /** Candidate writers and replicas, when the alias has `hosts` or `replicas`. */
  readonly topology: ResolvedTopology | undefined
  /** What is handed to mysql2's `createPool`. Holds the password: never log it. */
  readonly pool: PoolOptions
}

/** @internal The hosts of an alias with `hosts` or `replicas`. */
export interface ResolvedTopology {
  /** Candidate writers in order (`hosts`, or the alias's `host`/`port` alone). */
  readonly writers: readonly HostAddress[]
  /** Read replicas; may be empty. */
  readonly replicas: readonly HostAddress[]
}

/** @internal */
export interface ResolvedOptions {
  readonly aliases: ReadonlyMap<string, ResolvedAliasOptions>
  readonly defaultAlias: string
  readonly shutdownTimeoutMs: number
  readonly logger: Logger | undefined
  readonly classify: Classifier | undefined
}

const ALIAS_KEYS = new Set<string>([
  'maxAgeMs', 'healthCheck', 'pingTimeoutMs', 'aliveBypassMs', 'acquireTimeoutMs', 'retry',
  'shutdownTimeoutMs', 'strict', 'queryTimeoutMs', 'leakWarningMs', 'maxReplicaLagMs', 'logger',
])
const TOPOLOGY_KEYS = new Set<string>(['hosts', 'replicas'])
const TOP_KEYS = new Set<string>([...ALIAS_KEYS, 'databases', 'classify'])
const RETRY_KEYS = new Set<string>(['retries', 'minTimeoutMs', 'maxTimeoutMs'])

// mysql2 3.x connection and pool options. mysql2 only prints a warning for unknown keys;
// rejecting them here turns a typo into an error that names it.
const MYSQL2_KEYS = new Set<string>([
  'authPlugins', 'authSwitchHandler', 'bigNumberStrings', 'charset', 'charsetNumber', 'compress',
  'connectAttributes', 'connectTimeout', 'database', 'dateStrings', 'debug', 'decimalNumbers',
  'enableKeepAlive', 'flags', 'host', 'insecureAuth', 'infileStreamFactory', 'keepAliveInitialDelay',
  'localAddress', 'maxPreparedStatements', 'multipleStatements', 'namedPlaceholders', 'nestTables',
  'password', 'password1', 'password2', 'password3', 'passwordSha1', 'port', 'queryFormat',
  'rowsAsArray', 'socketPath', 'ssl', 'stream', 'stringifyObjects', 'supportBigNumbers', 'timezone',
  'trace', 'typeCast', 'uri', 'user', 'disableEval', 'enableCleartextPlugin', 'connectionLimit',
  'maxIdle', 'idleTimeout', 'queueLimit', 'resetOnRelease', 'waitForConnections', 'jsonStrings',
  'gracefulEnd',
])

function checkRetry(path: string, value: unknown): Required<RetryOptions> | false {
  if (value === false) return false
  if (value === true) return DEFAULTS.retry
  if (!isDict(value)) throw new InvalidOptionError(path, `expected a boolean or { retries, minTimeoutMs, maxTimeoutMs }, got ${kind(value)}`)
  for (const key of Object.keys(value)) {
    if (!RETRY_KEYS.has(key)) throw new InvalidOptionError(`${path}.${key}`, 'unknown option')
  }
  const retries = value.retries === undefined ? DEFAULTS.retry.retries : checkMs(`${path}.retries`, value.retries)
  const minTimeoutMs = value.minTimeoutMs === undefined ? DEFAULTS.retry.minTimeoutMs : checkMs(`${path}.minTimeoutMs`, value.minTimeoutMs)
  const maxTimeoutMs = value.maxTimeoutMs === undefined ? Math.max(minTimeoutMs, DEFAULTS.retry.maxTimeoutMs) : checkMs(`${path}.maxTimeoutMs`, value.maxTimeoutMs)
  if (maxTimeoutMs < minTimeoutMs) throw new InvalidOptionError(`${path}.maxTimeoutMs`, `must be >= minTimeoutMs (${minTimeoutMs})`)
  return Object.freeze({ retries, minTimeoutMs, maxTimeoutMs })
}

/** Reads the {@link AliasOptions} present in `source`, validated; absent ones are left out. */
function readAliasOptions(prefix: string, source: Dict): Partial<Record<keyof AliasOptions, unknown>> {
  const out: Partial<Record<keyof AliasOptions, unknown>> = {}
  const at = (key: string): string => (prefix ? `${prefix}.${key}` : key)
  if (source.maxAgeMs !== undefined) out.maxAgeMs = checkMs(at('maxAgeMs'), source.maxAgeMs)
  if (source.healthCheck !== undefined) out.healthCheck = checkBool(at('healthCheck'), source.healthCheck)
  if (source.pingTimeoutMs !== undefined) out.pingTimeoutMs = checkMs(at('pingTimeoutMs'), source.pingTimeoutMs, { min: 1 })
  if (source.aliveBypassMs !== undefined) out.aliveBypassMs = checkMs(at('aliveBypassMs'), source.aliveBypassMs)
  if (source.acquireTimeoutMs !== undefined) out.acquireTimeoutMs = checkMs(at('acquireTimeoutMs'), source.acquireTimeoutMs, { min: 1 })
  if (source.retry !== undefined) out.retry = checkRetry(at('retry'), source.retry)
  if (source.shutdownTimeoutMs !== undefined) out.shutdownTimeoutMs = checkMs(at('shutdownTimeoutMs'), source.shutdownTimeoutMs)
  if (source.strict !== undefined) out.strict = checkBool(at('strict'), source.strict)
  if (source.queryTimeoutMs !== undefined) out.queryTimeoutMs = checkMs(at('queryTimeoutMs'), source.queryTimeoutMs)
  if (source.leakWarningMs !== undefined) out.leakWarningMs = checkMs(at('leakWarningMs'), source.leakWarningMs)
  if (source.maxReplicaLagMs !== undefined) out.maxReplicaLagMs = checkMs(at('maxReplicaLagMs'), source.maxReplicaLagMs, { min: 1 })
  if (source.logger !== undefined) out.logger = checkLogger(at('logger'), source.logger)
  return out
}

function resolveAlias(alias: string, config: unknown, top: Partial<Record<keyof AliasOptions, unknown>>): ResolvedAliasOptions {
  const path = `databases.${alias}`
  let source: Dict
  if (typeof config === 'string') source = parseUri(path, config)
  else if (isDict(config)) {
    source = { ...config }
    if (typeof source.uri === 'string') {
      // Explicit keys win over the URI's, as in mysql2.
      const fromUri = parseUri(`${path}.uri`, source.uri)
      delete source.uri
      source = { ...fromUri, ...source }
    }
  } else {
    throw new InvalidOptionError(path, `expected a connection URI or an options object, got ${kind(config)}`)
  }
  const pool: Dict = {}
  for (const key of Object.keys(source)) {
    if (ALIAS_KEYS.has(key) || TOPOLOGY_KEYS.has(key)) continue
    if (!MYSQL2_KEYS.has(key)) throw new InvalidOptionError(`${path}.${key}`, 'unknown option (neither a mysql-lifespan nor a mysql2 option)')
    if (source[key] !== undefined) pool[key] = source[key]
  }
  if (pool.connectionLimit !== undefined) checkMs(`${path}.connectionLimit`, pool.connectionLimit, { min: 1 })
  if (pool.port !== undefined) {
    const port = pool.port
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new InvalidOptionError(`${path}.port`, `expected a port number 0-65535, got ${kind(port)}`)
    }
  }
  if (pool.connectTimeout !== undefined) checkMs(`${path}.connectTimeout`, pool.connectTimeout, { min: 1 })

  const topology = resolveTopology(path, source, pool)
  const own = readAliasOptions(path, source)
  const pick = <K extends keyof AliasOptions>(key: K): unknown => own[key] ?? top[key] ?? DEFAULTS[key]
  const acquireTimeoutMs = pick('acquireTimeoutMs') as number
  return Object.freeze({
    alias,
    maxAgeMs: pick('maxAgeMs') as number,
    healthCheck: pick('healthCheck') as boolean,
    pingTimeoutMs: pick('pingTimeoutMs') as number,
    aliveBypassMs: pick('aliveBypassMs') as number,
    acquireTimeoutMs,
    retry: pick('retry') as Required<RetryOptions> | false,
    shutdownTimeoutMs: pick('shutdownTimeoutMs') as number,
    strict: pick('strict') as boolean,
    queryTimeoutMs: pick('queryTimeoutMs') as number,
    leakWarningMs: pick('leakWarningMs') as number,
    maxReplicaLagMs: pick('maxReplicaLagMs') as number,
    logger: (own.logger ?? top.logger) as Logger | undefined,
    topology,
    pool: Object.freeze({
      ...MYSQL2_DEFAULTS,
      connectTimeout: defaultConnectTimeout(acquireTimeoutMs),
      ...pool,
    }) as PoolOptions,
  })
}

/**
 * mysql2's connect timeout when none is given: a third of the acquisition budget (1 to 10 s),
 * so a connect attempt stuck on a dead path leaves time for another attempt in the same
 * acquisition once the path recovers, and never outlives the acquisition itself.
 */
export function defaultConnectTimeout(acquireTimeoutMs: number): number {
  return Math.min(acquireTimeoutMs, Math.max(1_000, Math.min(10_000, Math.round(acquireTimeoutMs / 3))))
}

/**
 * Validates user options and applies {@link DEFAULTS}. Never mutates its argument.
 *
 * @throws {InvalidOptionError} naming the first invalid option.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (!isDict(options)) throw new InvalidOptionError('options', `expected an object, got ${kind(options)}`)
  for (const key of Object.keys(options)) {
    if (!TOP_KEYS.has(key)) {
      const hint = MYSQL2_KEYS.has(key) ? ' (mysql2 options go inside databases.<alias>)' : ''
      throw new InvalidOptionError(key, `unknown option${hint}`)
    }
  }
  const { databases, classify } = options
  if (!isDict(databases)) throw new InvalidOptionError('databases', `expected an object of aliases, got ${kind(databases)}`)
  const names = Object.keys(databases)
  if (names.length === 0) throw new InvalidOptionError('databases', 'at least one alias is required')
  if (classify !== undefined && typeof classify !== 'function') {
    throw new InvalidOptionError('classify', `expected a function, got ${kind(classify)}`)
  }
  const top = readAliasOptions('', options)
  const aliases = new Map<string, ResolvedAliasOptions>()
  for (const name of names) aliases.set(name, resolveAlias(name, databases[name], top))
  return Object.freeze({
    aliases,
    defaultAlias: names.includes('default') ? 'default' : (names[0] as string),
    shutdownTimeoutMs: (top.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs) as number,
    logger: top.logger as Logger | undefined,
    classify: classify as Classifier | undefined,
  })
}
