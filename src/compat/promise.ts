/**
 * @module
 * The mysql2/promise forms of the facades: what `.promise()` returns (Drizzle, TypeORM's
 * statements) and what the driver's promise constructors give. Each wraps its callback facade,
 * kept as `.pool` / `.connection` as mysql2 does (Knex and Drizzle read them).
 */
import { EventEmitter } from 'node:events'
import mysql from 'mysql2'
import type { FacadeConnection } from './connection.js'
import type { Callback } from './host.js'

/** @internal The callback object a promise wrapper forwards to. */
interface Queryable {
  query(sql: unknown, values: unknown, cb: Callback): unknown
  execute(sql: unknown, values: unknown, cb: Callback): unknown
}

function call(target: Queryable, method: 'query' | 'execute', sql: unknown, values: unknown): Promise<[unknown, unknown]> {
  return new Promise((resolve, reject) => {
    target[method](sql, values, (err, rows, fields) => (err ? reject(err) : resolve([rows, fields])))
  })
}

/** @internal mysql2/promise's `PoolConnection` over a {@link FacadeConnection}. */
export class PromiseConnection extends EventEmitter {
  /** The callback connection (Drizzle streams from it). */
  readonly connection: FacadeConnection

  /** @internal */
  constructor(connection: FacadeConnection) {
    super()
    this.connection = connection
  }

  /** The callback connection's `threadId`. */
  get threadId(): number | null {
    return this.connection.threadId
  }

  /** The tool's options. */
  get config(): Record<string, unknown> {
    return this.connection.config
  }

  /** mysql2/promise `query`: `[rows, fields]`. */
  query(sql: unknown, values?: unknown): Promise<[unknown, unknown]> {
    return call(this.connection, 'query', sql, values)
  }

  /** mysql2/promise `execute`: `[rows, fields]`. */
  execute(sql: unknown, values?: unknown): Promise<[unknown, unknown]> {
    return call(this.connection, 'execute', sql, values)
  }

  beginTransaction(): Promise<[unknown, unknown]> {
    return this.query('START TRANSACTION')
  }

  commit(): Promise<[unknown, unknown]> {
    return this.query('COMMIT')
  }

  rollback(): Promise<[unknown, unknown]> {
    return this.query('ROLLBACK')
  }

  ping(): Promise<void> {
    return new Promise((resolve, reject) => this.connection.ping((err) => (err ? reject(err) : resolve())))
  }

  release(): void {
    this.connection.release()
  }

  destroy(): void {
    this.connection.destroy()
  }

  end(): Promise<void> {
    return new Promise((resolve) => this.connection.end(() => resolve()))
  }

  /** mysql2's escaping helpers (the alias's defaults). */
  readonly escape = mysql.escape
  readonly escapeId = mysql.escapeId
  readonly format = mysql.format
}

/** @internal What a {@link PromisePool} wraps. */
export interface CallbackPool extends Queryable, EventEmitter {
  getConnection(cb: (err: unknown, conn?: FacadeConnection) => void): void
  end(cb?: (err: unknown) => void): void
}

const FORWARDED = new Set<string | symbol>(['acquire', 'release', 'connection', 'enqueue'])

/** @internal mysql2/promise's `Pool` over a callback pool facade. */
export class PromisePool extends EventEmitter {
  /** The callback pool (Knex reads `.pool` of a promise pool). */
  readonly pool: CallbackPool

  /** @internal */
  constructor(pool: CallbackPool) {
    super()
    this.pool = pool
    // Listeners registered on the promise pool hear the callback pool's events, as in mysql2; an
    // event is forwarded from its first listener on, so a pool nobody listens to emits nothing.
    const forwarded = new Set<string | symbol>()
    this.on('newListener', (event: string | symbol) => {
      if (forwarded.has(event) || !FORWARDED.has(event)) return
      forwarded.add(event)
      pool.on(event, (...args: unknown[]) => this.emit(event, ...args))
    })
  }

  /** mysql2/promise `query` on the pool: like `db().query`. */
  query(sql: unknown, values?: unknown): Promise<[unknown, unknown]> {
    return call(this.pool, 'query', sql, values)
  }

  /** mysql2/promise `execute` on the pool. */
  execute(sql: unknown, values?: unknown): Promise<[unknown, unknown]> {
    return call(this.pool, 'execute', sql, values)
  }

  /** A connection of the running scope (or of an implicit one until `release()`). */
  getConnection(): Promise<PromiseConnection> {
    return new Promise((resolve, reject) => this.pool.getConnection((err, conn) => (conn ? resolve(new PromiseConnection(conn)) : reject(err))))
  }

  releaseConnection(conn: PromiseConnection | FacadeConnection): void {
    conn.release()
  }

  /** Retires this facade only. */
  end(): Promise<void> {
    return new Promise((resolve, reject) => this.pool.end((err) => (err ? reject(err) : resolve())))
  }

  /** mysql2's escaping helpers (the alias's defaults). */
  readonly escape = mysql.escape
  readonly escapeId = mysql.escapeId
  readonly format = mysql.format
}
