/**
 * @module
 * The checks behind option validation: each names the option it rejects (an
 * {@link InvalidOptionError} with its dotted path), and none echoes a connection URI, which may
 * hold a password. Also the URI parser and the `hosts`/`replicas` resolution.
 */
import { InvalidOptionError } from './errors.js'
import type { Logger, ResolvedTopology } from './options.js'
import { type HostAddress, parseHostList } from './topology/addresses.js'

/** @internal A plain options object. */
export type Dict = Record<string, unknown>

/** @internal Whether `value` is a plain object (not null, not an array). */
export function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** @internal A whole number of milliseconds from `min` to 2147483647 (what setTimeout takes); else an {@link InvalidOptionError} naming `path`. */
export function checkMs(path: string, value: unknown, { min = 0 } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value)) {
    throw new InvalidOptionError(path, `expected a whole number of milliseconds, got ${kind(value)}`)
  }
  if (value < min) throw new InvalidOptionError(path, `must be >= ${min}, got ${value}`)
  // setTimeout clamps anything larger to 1 ms, which would turn a long timeout into none.
  if (value > 2_147_483_647) throw new InvalidOptionError(path, `must be <= 2147483647, got ${value}`)
  return value
}

/** @internal A boolean; else an {@link InvalidOptionError} naming `path`. */
export function checkBool(path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(path, `expected a boolean, got ${kind(value)}`)
  return value
}

/** @internal How an error message describes a rejected value: its type, or a number itself (never a string's content, which may be a password). */
export function kind(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'number') return String(value)
  return `a ${typeof value}`
}

/** @internal A logger with `debug`, `info`, `warn` and `error` methods, or undefined; else an {@link InvalidOptionError} naming `path`. */
export function checkLogger(path: string, value: unknown): Logger | undefined {
  if (value === undefined) return undefined
  if (!isDict(value)) throw new InvalidOptionError(path, `expected an object with debug/info/warn/error methods, got ${kind(value)}`)
  for (const level of ['debug', 'info', 'warn', 'error']) {
    const fn = value[level]
    if (fn !== undefined && typeof fn !== 'function') {
      throw new InvalidOptionError(`${path}.${level}`, `expected a function, got ${kind(fn)}`)
    }
  }
  return value as Logger
}

/**
 * Parses a `mysql://user:password@host:port/database?option=value` URI into mysql2 options.
 * Query parameters are read as JSON where they parse (`?connectionLimit=5`, `?ssl={"rejectUnauthorized":false}`),
 * else as strings. The URI itself never appears in an error: it may hold a password.
 */
export function parseUri(path: string, uri: string): Dict {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    throw new InvalidOptionError(path, 'not a valid URI (expected mysql://user:password@host:port/database)')
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new InvalidOptionError(path, `unsupported URI scheme "${url.protocol}" (expected mysql: or mariadb:)`)
  }
  const decode = (part: string, name: string): string => {
    try {
      return decodeURIComponent(part)
    } catch {
      throw new InvalidOptionError(path, `the ${name} in the URI is not valid percent-encoding`)
    }
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const out: Dict = { host: decode(host, 'host') || 'localhost' }
  if (url.port) out.port = Number(url.port)
  if (url.username) out.user = decode(url.username, 'user name')
  if (url.password) out.password = decode(url.password, 'password')
  const database = decode(url.pathname.replace(/^\//, ''), 'database')
  if (database) out.database = database
  for (const [key, raw] of url.searchParams) {
    if (key in out) continue
    try {
      out[key] = JSON.parse(raw)
    } catch {
      out[key] = raw
    }
  }
  return out
}

/** `hosts` and `replicas` of one alias, validated; undefined when the alias has neither. */
export function resolveTopology(path: string, source: Dict, pool: Dict): ResolvedTopology | undefined {
  if (source.hosts === undefined && source.replicas === undefined) return undefined
  const defaultPort = typeof pool.port === 'number' ? pool.port : 3306
  if (pool.socketPath !== undefined) throw new InvalidOptionError(`${path}.socketPath`, 'cannot be combined with hosts or replicas (every host is reached over TCP)')
  let writers: HostAddress[]
  if (source.hosts !== undefined) {
    if (source.host !== undefined) {
      throw new InvalidOptionError(`${path}.hosts`, 'give either host (or a URI naming a host) or hosts, not both')
    }
    writers = parseHostList(`${path}.hosts`, source.hosts, defaultPort)
  } else {
    writers = [{ host: typeof pool.host === 'string' ? pool.host : 'localhost', port: defaultPort }]
  }
  const replicas = source.replicas === undefined ? [] : parseHostList(`${path}.replicas`, source.replicas, defaultPort)
  return Object.freeze({ writers: Object.freeze(writers), replicas: Object.freeze(replicas) })
}

