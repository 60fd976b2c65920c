/**
 * @module
 * A statement's session time zone. A tool may set its own zone on each connection it uses
 * (Sequelize sends `SET time_zone = '+00:00'`); everything else expects the zone the connection's
 * handshake gave it. The zone a tool set stays on the connection between scopes (a session reset
 * after every scope would cost two round trips each time): the next statement that expects another
 * zone puts its own in place first, one `SET`, and a statement that finds its zone already there
 * sends nothing. This SET is not a session change the pool has to undo: the session stays clean.
 */
import type { PoolConnection } from 'mysql2'
import type { SessionState } from './connection-state.js'
import type { ConnectionSource } from './pool.js'

const SET_ZONE = 'SET SESSION time_zone = ?'

/**
 * @internal True when `conn`'s session already has the time zone `zone` (`undefined`: the
 * handshake's). Synchronous: the common case sends nothing.
 */
export function hasZone(pool: ConnectionSource, conn: PoolConnection, zone: string | undefined): boolean {
  const session = pool.session(conn)
  if (session === undefined || session.zone === zone) return true
  // A tool's zone that is the handshake's own needs nothing either.
  return session.zone === undefined && pool.baseline(conn)?.timeZone === zone
}

/**
 * @internal Puts the time zone `zone` (`undefined`: the handshake's) on `conn`'s session, unless it
 * is there already, and calls `done` once. Bounded like a validation ping: a SET answers at once, so
 * it cannot hang on a path that died after validation.
 */
export function fitZone(pool: ConnectionSource, conn: PoolConnection, zone: string | undefined, done: (err: unknown) => void): void {
  if (hasZone(pool, conn, zone)) return done(null)
  // hasZone answered true for a connection without a session.
  const session = pool.session(conn) as SessionState
  const handshake = pool.baseline(conn)?.timeZone
  const target = zone ?? handshake
  if (target === undefined) return done(null)
  const wasDirty = session.dirty
  pool.send(
    conn,
    'query',
    SET_ZONE,
    [target],
    (err) => {
      if (!err) {
        session.zone = target === handshake ? undefined : target
        // The server flagged our SET as a session change; the pool knows this one and keeps it.
        session.dirty = wasDirty
      }
      done(err ?? null)
    },
    pool.options.pingTimeoutMs,
  )
}

/** @internal {@link fitZone} as a promise. */
export function fitZoneAsync(pool: ConnectionSource, conn: PoolConnection, zone: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => fitZone(pool, conn, zone, (err) => (err ? reject(err) : resolve())))
}
