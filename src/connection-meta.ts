/**
 * @module
 * What an alias's pool knows of each of its connections ({@link ConnectionMeta}), kept on the
 * connection object itself under a symbol of this module. It is read several times per statement
 * (session state, transaction flag, clean release); a property load costs less than a WeakMap
 * lookup, and the record goes with the connection object when mysql2 drops it. Only the pool
 * that opened a connection finds its record. The record of a new connection is made here too.
 */
import type { PoolConnection } from 'mysql2'
import { SessionState, tapSessionState } from './connection-state.js'
import type { ConnectionMeta } from './pool-types.js'

/** Each connection gets up to this much less than `maxAgeMs`, at random, so a pool does not expire all at once. */
const AGE_JITTER = 0.025

const META = Symbol('mysql-lifespan.meta')

interface Tagged {
  [META]?: ConnectionMeta
}

/** @internal `conn`'s record when `owner` opened it, else undefined. */
export function readMeta(owner: object, conn: PoolConnection): ConnectionMeta | undefined {
  const m = (conn as unknown as Tagged)[META]
  return m !== undefined && m.owner === owner ? m : undefined
}

/** @internal Keeps `m` as what its owner knows of `conn`. */
export function keepMeta(conn: PoolConnection, m: ConnectionMeta): void {
  ;(conn as unknown as Tagged)[META] = m
}

/**
 * @internal The record of a connection `owner` just opened, kept on it: created now, its own max
 * age (`maxAgeMs` less up to {@link AGE_JITTER} at random; 0: none), generation `epoch`, and its
 * session as the server's replies will report it (the tap is put on the connection here).
 */
export function newMeta(owner: object, conn: PoolConnection, maxAgeMs: number, epoch: number): ConnectionMeta {
  const now = Date.now()
  const session = new SessionState()
  tapSessionState(conn, session)
  const m: ConnectionMeta = {
    owner,
    createdAt: now,
    lastUsedAt: now,
    maxAgeMs: maxAgeMs > 0 ? Math.floor(maxAgeMs * (1 - Math.random() * AGE_JITTER)) : 0,
    idleLimitMs: undefined,
    session,
    baseline: undefined,
    epoch,
    leased: false,
  }
  keepMeta(conn, m)
  return m
}
