/**
 * @module
 * `lifespan.pool(alias)`: a stand-in for mysql2's callback `Pool`. It has no connections of its
 * own: `getConnection` hands out the running scope's validated connection (or an implicit scope's,
 * held until `release()`), and `query` / `execute` run like `db(alias)`. Its `end()` retires this
 * facade only: the lifespan owns the connections and ends them at `shutdown()`.
 */
import { EventEmitter } from 'node:events'
import mysql from 'mysql2'
import type { Pool as MysqlPool, PoolConnection } from 'mysql2'
import { ErrorCodes, LifespanError } from '../errors.js'
import { checkOut } from './checkout.js'
import { type Handoff, handoffOf } from './handoff.js'
import { FacadeConnection } from './connection.js'
import type { Callback, CompatHost } from './host.js'
import { FacadeQuery } from './query.js'
import { PromisePool } from './promise.js'
import type { ToolSettings } from './settings.js'
import { NO_SETTINGS } from './settings.js'

/**
 * What `lifespan.pool()` returns: usable wherever mysql2's callback `Pool` is expected. The extra
 * `end` signature is Knex's `MySQLPoolLike` (its callback takes `err?: Error`, which mysql2's type
 * does not satisfy), so `connectionPool: lifespan.pool()` type-checks too.
 */
export type Pool = MysqlPool & { end(callback?: (err?: Error) => void): void }

/** @internal The callback pool facade. */
export class FacadePool extends EventEmitter {
  readonly #host: CompatHost
  readonly #settings: ToolSettings
  readonly #handoff: Handoff
  /** Statements sent to the pool itself: each runs like `db(alias)`, in the caller's scope or one of its own. */
  readonly #direct: FacadeConnection
  #ended = false
  /** Someone listened to `acquire` or `release` at some point: checkouts then look for listeners (see the constructor). */
  #watched = false
  readonly #byConnection = new WeakMap<PoolConnection, FacadeConnection>()
  /** mysql2 keeps its options here; tools read `config.connectionLimit`. The alias's limit is the one that holds. */
  readonly config: Record<string, unknown>

  /** @internal */
  constructor(host: CompatHost, settings: ToolSettings, config: Record<string, unknown>) {
    super()
    this.#host = host
    this.#settings = settings
    this.#handoff = handoffOf(host)
    this.config = { ...config, connectionLimit: host.pool.options.pool.connectionLimit ?? 10 }
    this.#direct = new FacadeConnection(host, settings, this.config, false, true)
    // Counting listeners on every checkout costs more than this flag; it stays set once raised.
    this.on('newListener', (event: string | symbol) => {
      if (event === 'acquire' || event === 'release') this.#watched = true
    })
  }

  getConnection(cb: (err: unknown, conn?: FacadeConnection) => void): void {
    if (this.#ended) return process.nextTick(cb, this.#endedError())
    checkOut(this.#host, this.#handoff, (err, checkout) => {
      if (!checkout) return cb(err)
      const conn = this.#connectionFor(checkout.connection)
      conn.bind(checkout)
      // mysql2's pool events, for tools that listen (none of the five do; emitted only when someone listens).
      if (this.#watched) {
        if (this.listenerCount('release') > 0) conn.onRelease = this.#released
        if (this.listenerCount('acquire') > 0) this.emit('acquire', conn)
      }
      cb(null, conn)
    })
  }

  /**
   * The facade connection for a pooled connection: the one it had last time when that one was
   * released, as mysql2's pool hands out the same object per connection. Tools key their own state
   * by it (Kysely keeps a wrapper and the server thread id per connection object).
   */
  #connectionFor(pooled: PoolConnection | undefined): FacadeConnection {
    const known = pooled && this.#byConnection.get(pooled)
    if (known?.reusable) return known
    const conn = new FacadeConnection(this.#host, this.#settings, this.config)
    if (pooled && !known) this.#byConnection.set(pooled, conn)
    return conn
  }

  query(sql: unknown, values?: unknown, cb?: Callback): FacadeQuery {
    return this.#run('query', sql, values, cb)
  }

  execute(sql: unknown, values?: unknown, cb?: Callback): FacadeQuery {
    return this.#run('execute', sql, values, cb)
  }

  #run(method: 'query' | 'execute', sql: unknown, values: unknown, cb: Callback | undefined): FacadeQuery {
    if (!this.#ended) return this.#direct[method](sql, values, cb)
    const callback = typeof values === 'function' ? (values as Callback) : cb
    const query = new FacadeQuery()
    if (callback) process.nextTick(callback, this.#endedError())
    else query.fail(this.#endedError())
    return query
  }

  #released = (conn: FacadeConnection): void => void this.emit('release', conn)

  releaseConnection(conn: FacadeConnection): void {
    conn.release()
  }

  /** Retires this facade: `getConnection` and statements fail from now on; connections already handed out work until released. */
  end(cb?: (err: unknown) => void): void {
    this.#ended = true
    if (cb) process.nextTick(cb, null)
  }

  [Symbol.dispose](): void {
    this.end()
  }

  unprepare(): never {
    throw new LifespanError('unprepare() is not supported by lifespan.pool(); prepared statements are cached per connection by mysql2.', {
      code: ErrorCodes.UNSUPPORTED_OPTION,
    })
  }

  promise(): PromisePool {
    return new PromisePool(this)
  }

  /** mysql2's escaping helpers (the alias's defaults). */
  readonly escape = mysql.escape
  readonly escapeId = mysql.escapeId
  readonly format = mysql.format

  #endedError(): LifespanError {
    return new LifespanError(`This pool facade of "${this.#host.alias}" was ended; get a new one from lifespan.pool().`, { code: ErrorCodes.FACADE_ENDED })
  }
}

/**
 * @internal A pool facade as the mysql2 type tools expect. The facade implements every form of
 * `getConnection`, `query`, `execute`, `end`, `promise`, the escaping helpers and the events;
 * mysql2's class type is what Drizzle and Kysely check against, hence the one conversion here.
 */
export function createPoolFacade(host: CompatHost, settings: ToolSettings = NO_SETTINGS, config: Record<string, unknown> = {}): Pool {
  return new FacadePool(host, settings, config) as unknown as Pool
}
