/**
 * @module
 * What an alias's pool knows of each of its connections ({@link ConnectionMeta}), kept on the
 * connection object itself under a symbol of this module. It is read several times per statement
 * (session state, transaction flag, clean release); a property load costs less than a WeakMap
 * lookup, and the record goes with the connection object when mysql2 drops it. Only the pool
 * that opened a connection finds its record.
 */
import type { PoolConnection } from 'mysql2'
import type { ConnectionMeta } from './pool-types.js'

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
