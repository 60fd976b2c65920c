/**
 * @module
 * The server the doctor examines: a `mysql://` URL read the way `createLifespan` reads one
 * (query parameters as JSON where they parse), split into what mysql2 needs to connect and
 * the library settings the URL carries. The URL is only ever shown redacted.
 */
import type { ConnectionOptions } from 'mysql2'
import { ErrorCodes, LifespanError } from '../../index.js'

/** A URL the doctor cannot use; its message never holds the password. */
export class DoctorUsageError extends LifespanError {
  constructor(message: string) {
    super(message, { code: ErrorCodes.INVALID_ARGUMENT })
  }
}

/** Where to connect, and the library settings found in the URL's query. */
export interface DoctorTarget {
  /** The URL with its password replaced by `***`. */
  readonly display: string
  readonly host: string
  readonly connection: ConnectionOptions
  /** `connectionLimit`, `maxAgeMs`, `aliveBypassMs` when the URL sets them. */
  readonly settings: { connectionLimit?: number; maxAgeMs?: number; aliveBypassMs?: number }
}

/** Keys of the URL's query the doctor reads as settings instead of passing them to mysql2. */
const SETTING_KEYS = ['connectionLimit', 'maxAgeMs', 'aliveBypassMs'] as const
/** Keys mysql2 accepts for a single connection (the rest are pool or library options). */
const CONNECTION_KEYS = new Set(['ssl', 'charset', 'flags', 'socketPath', 'localAddress', 'timezone', 'compress', 'enableCleartextPlugin'])

/** `url` with the password replaced by `***` (also for a URL that does not parse). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    // Not a URL: hide whatever sits between "//user:" and "@".
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@')
  }
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new DoctorUsageError(`the ${what} in the URL is not valid percent-encoding`)
  }
}

/** Parses a `mysql://user:password@host:port/database?option=value` URL; throws {@link DoctorUsageError}. */
export function parseTarget(url: string): DoctorTarget {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    // Not echoed: a malformed URL may still hold a password.
    throw new DoctorUsageError('not a valid URL (expected mysql://user:password@host:port/database)')
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new DoctorUsageError(`unsupported URL scheme "${u.protocol}" (expected mysql: or mariadb:)`)
  }
  const host = decode(u.hostname.replace(/^\[(.*)\]$/, '$1'), 'host') || 'localhost'
  const connection: Record<string, unknown> = { host, port: u.port ? Number(u.port) : 3306 }
  if (u.username) connection.user = decode(u.username, 'user name')
  if (u.password) connection.password = decode(u.password, 'password')
  const database = decode(u.pathname.replace(/^\//, ''), 'database')
  if (database) connection.database = database
  const settings: Record<string, number> = {}
  for (const [key, raw] of u.searchParams) {
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      value = raw
    }
    if ((SETTING_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new DoctorUsageError(`${key} in the URL must be a whole number, got ${raw}`)
      settings[key] = value
    } else if (CONNECTION_KEYS.has(key)) connection[key] = value
  }
  return { display: redactUrl(url), host, connection: connection as ConnectionOptions, settings }
}

/** Whether `host` is this machine, where traffic never crosses a network (so TLS matters less). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}
