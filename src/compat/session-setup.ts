/**
 * @module
 * Per-connection setup a tool sends once on each connection it creates (Sequelize:
 * `SET time_zone = '+00:00'`). A driver connection borrows a different pooled connection per
 * scope, so the setup is kept and applied to whichever connection its statements run on, once per
 * connection, instead of being sent to one connection and leaking to other scopes' work.
 */
import type { PoolConnection } from 'mysql2'
import type { ConnectionSource } from '../pool.js'

// The session variables a tool's setup may set: they change results, not the connection's identity.
const SETUP = /^\s*set\s+(?:session\s+|@@session\.|@@)?time_zone\s*=\s*('[^']*'|"[^"]*"|[\w+:/-]+)\s*;?\s*$/i

/** @internal True for a statement that is a tool's per-connection setup. */
export function isSessionSetup(sql: string | undefined): boolean {
  return sql !== undefined && SETUP.test(sql)
}

function zoneOf(setup: string): string | undefined {
  return SETUP.exec(setup)?.[1]?.replace(/^['"]|['"]$/g, '')
}

/**
 * The setup last applied to each pooled connection. It holds while the session is still marked
 * changed: the pool resets a changed session when a scope gives it back (which undoes any SET)
 * and clears the mark then.
 */
const applied = new WeakMap<PoolConnection, string>()

/**
 * @internal Sends `setup` on `conn` unless the session already has it: applied there since the last
 * reset, or the session's own value from its handshake (a server whose zone is the tool's costs nothing).
 */
export function ensureSetup(pool: ConnectionSource, conn: PoolConnection, setup: string | undefined, done: (err: unknown) => void): void {
  if (setup === undefined) return done(null)
  if (pool.session(conn)?.dirty === true ? applied.get(conn) === setup : pool.baseline(conn)?.timeZone === zoneOf(setup)) return done(null)
  // A SET answers at once: bounded like a validation ping, it cannot hang on a path that died after validation.
  pool.send(
    conn,
    'query',
    setup,
    undefined,
    (err) => {
      if (!err) applied.set(conn, setup)
      done(err ?? null)
    },
    pool.options.pingTimeoutMs,
  )
}
