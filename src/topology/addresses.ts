/**
 * @module
 * Host lists of the `hosts` and `replicas` options: `'host'`, `'host:port'`, `'[::1]:3306'`
 * or `{ host, port? }`, validated up front so a typo fails at `createLifespan`, not at the
 * first failover.
 */
import { InvalidOptionError } from '../errors.js'

/** One entry of `hosts` or `replicas`. */
export type HostEntry = string | { host: string; port?: number }

/** A parsed host entry. */
export interface HostAddress {
  readonly host: string
  readonly port: number
}

/** `host:port`, the key of a host in logs and `stats()` (IPv6 in brackets). */
export function addressKey(a: HostAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}

function checkPort(path: string, port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidOptionError(path, `expected a port number 1-65535, got ${typeof port === 'number' ? port : typeof port}`)
  }
  return port
}

function parseString(path: string, entry: string, defaultPort: number): HostAddress {
  const text = entry.trim()
  if (text === '') throw new InvalidOptionError(path, 'expected "host" or "host:port", got an empty string')
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracketed) return { host: bracketed[1] as string, port: bracketed[2] === undefined ? defaultPort : checkPort(path, Number(bracketed[2])) }
  const parts = text.split(':')
  if (parts.length > 2) throw new InvalidOptionError(path, `expected "host" or "host:port" (IPv6 addresses in brackets), got "${text}"`)
  const [host, port] = parts as [string, string | undefined]
  if (host === '' || /[\s/@?#]/.test(host)) throw new InvalidOptionError(path, `expected "host" or "host:port", got "${text}"`)
  if (port === undefined) return { host, port: defaultPort }
  if (!/^\d+$/.test(port)) throw new InvalidOptionError(path, `the port of "${text}" is not a number`)
  return { host, port: checkPort(path, Number(port)) }
}

/**
 * Validates a host list. Entries without a port get `defaultPort` (the alias's `port`, or 3306).
 *
 * @throws {InvalidOptionError} naming `path` (and the entry's index) for an empty list, a malformed
 *   entry or a duplicate.
 */
export function parseHostList(path: string, value: unknown, defaultPort: number): HostAddress[] {
  if (!Array.isArray(value)) throw new InvalidOptionError(path, `expected an array of "host", "host:port" or { host, port }, got ${value === null ? 'null' : typeof value}`)
  if (value.length === 0) throw new InvalidOptionError(path, 'expected at least one host, got an empty list')
  const seen = new Set<string>()
  return value.map((entry: unknown, i) => {
    const at = `${path}[${i}]`
    let parsed: HostAddress
    if (typeof entry === 'string') parsed = parseString(at, entry, defaultPort)
    else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
      const { host, port, ...rest } = entry as { host?: unknown; port?: unknown }
      const extra = Object.keys(rest)
      if (extra.length > 0) throw new InvalidOptionError(`${at}.${extra[0]}`, 'unknown option (a host entry takes host and port)')
      if (typeof host !== 'string' || host.trim() === '') throw new InvalidOptionError(`${at}.host`, 'expected a non-empty string')
      parsed = { host: host.trim(), port: port === undefined ? defaultPort : checkPort(`${at}.port`, port) }
    } else {
      throw new InvalidOptionError(at, `expected "host", "host:port" or { host, port }, got ${entry === null ? 'null' : typeof entry}`)
    }
    const key = addressKey(parsed)
    if (seen.has(key)) throw new InvalidOptionError(at, `"${key}" is listed twice`)
    seen.add(key)
    return parsed
  })
}
