/**
 * @module
 * `lifespan.driver(alias)`: a stand-in for the mysql2 module, for tools that take the module and
 * build their pool or connections themselves (TypeORM's `driver`, Sequelize's `dialectModule`).
 * Nothing it returns opens a connection of its own: pools are facades over the lifespan, and a
 * "connection" borrows the running scope's for each statement (a whole transaction, for one the
 * tool opens). The options a tool passes are sorted by src/compat/settings.ts.
 */
import mysql from 'mysql2'
import type { Connection, ConnectionOptions, PoolOptions } from 'mysql2'
import type { Connection as PromiseConnectionType, Pool as PromisePoolType } from 'mysql2/promise'
import { ErrorCodes, LifespanError } from '../errors.js'
import { FacadeConnection } from './connection.js'
import type { CompatHost } from './host.js'
import { createPoolFacade, FacadePool, type Pool } from './pool.js'
import { PromisePool } from './promise.js'
import { toolSettings } from './settings.js'

/** What `lifespan.driver()` returns: the parts of the mysql2 module that tools call. */
export interface Driver {
  /** A pool facade (see `lifespan.pool()`) whose statements get the tool's result options. */
  createPool(options?: PoolOptions | string): Pool
  /**
   * A connection that borrows the running scope's connection per statement (or an implicit scope's,
   * like `db()`), and keeps one for a transaction the tool opens. Emits `connect` once the lifespan is up.
   */
  createConnection(options?: ConnectionOptions | string): Connection
  /** `createPool` in mysql2/promise form. */
  createPoolPromise(options?: PoolOptions | string): PromisePoolType
  /** `createConnection` in mysql2/promise form, resolved once the lifespan is up. */
  createConnectionPromise(options?: ConnectionOptions | string): Promise<PromiseConnectionType>
  /** Not supported: an alias's topology (hosts, replicas) is configured on the lifespan. */
  createPoolCluster(): never
  escape: typeof mysql.escape
  escapeId: typeof mysql.escapeId
  format: typeof mysql.format
}

function objectOptions(options: object | string | undefined): Record<string, unknown> {
  return typeof options === 'object' && options !== null ? { ...(options as Record<string, unknown>) } : {}
}

/** @internal */
export function createDriver(host: CompatHost): Driver {
  const connection = (options: object | string | undefined): FacadeConnection => {
    const config = objectOptions(options)
    const conn = new FacadeConnection(host, toolSettings(host, config), config, true)
    // Starts the lifespan if needed; fails once it is stopping.
    conn.ready = host.ready()
    conn.ready.then(
      () => conn.emit('connect'),
      (err: unknown) => {
        if (conn.listenerCount('error') > 0) conn.emit('error', err)
      },
    )
    return conn
  }
  const pool = (options: object | string | undefined): FacadePool => {
    const config = objectOptions(options)
    return createPoolFacade(host, toolSettings(host, config), config) as unknown as FacadePool
  }
  return {
    createPool: (options) => pool(options) as unknown as Pool,
    createConnection: (options) => connection(options) as unknown as Connection,
    createPoolPromise: (options) => new PromisePool(pool(options)) as unknown as PromisePoolType,
    createConnectionPromise: async (options) => {
      const conn = connection(options)
      await conn.ready
      return conn.promise() as unknown as PromiseConnectionType
    },
    createPoolCluster: () => {
      throw new LifespanError('createPoolCluster() is not supported by lifespan.driver(): configure hosts and replicas on the alias.', {
        code: ErrorCodes.UNSUPPORTED_OPTION,
      })
    },
    escape: mysql.escape,
    escapeId: mysql.escapeId,
    format: mysql.format,
  }
}
