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

/**
 * A statement through the promise form. With `trace` (mysql2's option, on unless a tool sets it to
 * false) the caller's stack is captured before the statement goes out, and a failure's `stack`
 * shows it instead of the driver's internals, as mysql2/promise does: the error itself, its class,
 * `code` and `errno`, stay as they are.
 */
function call(target: Queryable, method: 'query' | 'execute', sql: unknown, values: unknown, trace: boolean, caller: (...args: never[]) => unknown): Promise<[unknown, unknown]> {
  const holder: { stack?: string } | undefined = trace ? {} : undefined
  if (holder) Error.captureStackTrace(holder, caller)
  return new Promise((resolve, reject) => {
    target[method](sql, values, (err, rows, fields) => {
      if (!err) return resolve([rows, fields])
      if (holder) withCallerStack(err, holder.stack)
      reject(err)
    })
  })
}

/** Puts the captured caller's frames under the error's own first line. */
function withCallerStack(err: unknown, captured: string | undefined): void {
  if (typeof captured !== 'string' || !(err instanceof Error)) return
  const frames = captured.slice(captured.indexOf('\n'))
  err.stack = `${err.name}: ${err.message}${frames}`
}

/** mysql2 captures callers' stacks unless the options say `trace: false`. */
function traces(config: Record<string, unknown> | undefined): boolean {
  return config?.trace !== false
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
    return call(this.connection, 'query', sql, values, traces(this.connection.config), PromiseConnection.prototype.query)
  }

  /** mysql2/promise `execute`: `[rows, fields]`. */
  execute(sql: unknown, values?: unknown): Promise<[unknown, unknown]> {
    return call(this.connection, 'execute', sql, values, traces(this.connection.config), PromiseConnection.prototype.execute)
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
  /** The tool's options (mysql2 keeps them as `config`); `trace: false` turns off caller stacks. */
  readonly config?: Record<string, unknown>
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
    return call(this.pool, 'query', sql, values, traces(this.pool.config), PromisePool.prototype.query)
  }

  /** mysql2/promise `execute` on the pool. */
  execute(sql: unknown, values?: unknown): Promise<[unknown, unknown]> {
    return call(this.pool, 'execute', sql, values, traces(this.pool.config), PromisePool.prototype.execute)
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
