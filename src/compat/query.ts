/**
 * @module
 * What a facade's `query()` / `execute()` returns: an event emitter like mysql2's `Query`
 * (`fields`, `result`, `end`, `error`) with `stream()`. The statement starts once the facade has a
 * connection, which is asynchronous; listeners attached in the same tick see every event.
 */
import { EventEmitter } from 'node:events'
import { Readable, type ReadableOptions } from 'node:stream'
import type { PoolConnection } from 'mysql2'
import { type ErrorClass, isConnectionBroken } from '../classify.js'
import type { Lease } from '../scope.js'
import { fitZone, hasZone } from '../session-zone.js'

/** @internal The real mysql2 statement a {@link FacadeQuery} forwards. */
export interface RealQuery {
  on(event: string, listener: (...args: never[]) => void): unknown
}

/** @internal A mysql2-`Query`-like emitter. */
export class FacadeQuery extends EventEmitter {
  #conn: PoolConnection | undefined
  #settled = false
  /** The consumer is gone: rows are read and dropped until the statement ends. */
  #abandoned = false

  /**
   * Forwards `real`'s events. `finish` is called once, when the statement ended (with its error,
   * if any); the connection is then the facade's again.
   */
  bind(real: RealQuery, conn: PoolConnection, finish: (err?: unknown) => void): void {
    this.#conn = conn
    const settle = (err?: unknown): void => {
      if (this.#settled) return
      this.#settled = true
      conn.off('error', lost)
      finish(err)
    }
    // mysql2 tells a statement without a callback nothing when its connection dies (the network, the
    // server, or the library closing it at a shutdown deadline): the error goes to the connection.
    const lost = (err: unknown): void => {
      if (this.#settled) return
      settle(err)
      this.#fail(err)
      this.emit('end')
    }
    conn.on('error', lost)
    real.on('fields', (fields: unknown) => this.emit('fields', fields))
    real.on('result', (row: unknown, index: unknown) => this.emit('result', row, index))
    real.on('error', (err: unknown) => {
      settle(err)
      this.#fail(err)
    })
    real.on('end', () => {
      settle()
      this.emit('end')
    })
  }

  /** @internal The connection is being released while rows still come: read and drop them so the connection comes back whole. */
  abandon(): void {
    if (this.#settled) return
    this.#abandoned = true
    this.#conn?.resume()
  }

  /** The statement could not start (no connection, refused): report it as mysql2 would. */
  fail(err: unknown): void {
    this.#settled = true
    process.nextTick(() => {
      this.#fail(err)
      this.emit('end')
    })
  }

  // mysql2 emits 'error' without a listener too, which throws; a facade must not crash the process.
  #fail(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  /**
   * The rows as an object-mode Readable, with backpressure on the connection. Destroyed before its
   * end, the rest of the result is read and dropped, so the connection is whole when it goes back.
   */
  stream(options?: ReadableOptions): Readable {
    let done = false
    const stream = new Readable({
      ...options,
      objectMode: true,
      read: () => this.#conn?.resume(),
    })
    this.on('result', (row: unknown) => {
      if (stream.destroyed || this.#abandoned) return
      if (!stream.push(row)) this.#conn?.pause()
    })
    this.on('fields', (fields: unknown) => stream.emit('fields', fields))
    this.on('error', (err: unknown) => {
      done = true
      stream.destroy(err as Error)
    })
    this.on('end', () => {
      done = true
      if (!stream.destroyed) stream.push(null)
    })
    stream.on('close', () => {
      if (!done) this.#conn?.resume()
    })
    return stream
  }
}

/** @internal A streamed statement: mysql2's method and arguments, and the session time zone it expects. */
export interface StreamStatement {
  readonly method: 'query' | 'execute'
  readonly sql: unknown
  readonly values: unknown
  readonly zone: string | undefined
}

/**
 * @internal Runs `query`'s statement on `lease`'s connection, held until the statement ends; `done`
 * is called once, after. A connection that broke is discarded, and a transaction it was in is lost
 * for the lease (as the statement path does).
 */
export function streamOn(query: FacadeQuery, lease: Lease, classify: (err: unknown) => ErrorClass, statement: StreamStatement, done: () => void): void {
  const { method, sql, values, zone } = statement
  lease.withConnection((err, conn) => {
    if (!conn) {
      done()
      return query.fail(err)
    }
    if (!hasZone(lease.pool, conn, zone)) {
      lease.hold()
      return fitZone(lease.pool, conn, zone, (e) => {
        lease.unhold()
        if (!e) return streamOn(query, lease, classify, statement, done)
        if (isConnectionBroken(classify(e))) lease.broke(conn, lease.pool.inTransaction(conn), e)
        done()
        query.fail(e)
      })
    }
    const inTransaction = lease.pool.inTransaction(conn)
    lease.hold()
    const finish = (e?: unknown): void => {
      lease.unhold()
      if (e !== undefined && isConnectionBroken(classify(e))) lease.broke(conn, inTransaction, e)
      done()
    }
    try {
      const run = conn[method] as (sql: unknown, values: unknown) => RealQuery
      query.bind(run.call(conn, sql, values), conn, finish)
    } catch (e) {
      finish(e)
      query.fail(e)
    }
  })
}
