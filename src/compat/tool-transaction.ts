/**
 * @module
 * A transaction a tool opened with SQL on a facade connection. Its connection leaves the scope's
 * lease for a side lease of the scope, so the scope's other statements never run inside it, and
 * comes back when the server says the transaction ended. Its statements take the statement path
 * (src/statement.ts) on the side lease: no re-run inside the transaction, and a connection lost
 * inside it refuses the tool's statements until ROLLBACK without touching the rest of the scope.
 */
import type { PoolConnection } from 'mysql2'
import type { Context, Lease } from '../scope.js'
import { type Method, runStatement } from '../statement.js'
import type { Callback, CompatHost } from './host.js'

/** @internal How a tool's transaction was taken. */
export interface TakeOptions {
  /** Ends a scope opened for the transaction. */
  readonly endScope: (() => void) | undefined
  /** Told once the transaction is over. */
  readonly onEnd: (tx: ToolTransaction) => void
  /** The tool's session time zone (`undefined`: the handshake's). */
  readonly zone: string | undefined
}

/** @internal */
export class ToolTransaction {
  /** The side lease the transaction's connection is kept on. */
  readonly lease: Lease
  readonly #host: CompatHost
  /** The scope's lease of the alias, where the connection goes back. */
  readonly #home: Lease
  readonly #drop: () => void
  readonly #endScope: (() => void) | undefined
  readonly #onEnd: (tx: ToolTransaction) => void
  /** The tool's session time zone, for each of its statements (src/session-zone.ts). */
  readonly #zone: string | undefined
  #ended = false

  private constructor(host: CompatHost, lease: Lease, home: Lease, drop: () => void, how: TakeOptions) {
    this.#host = host
    this.lease = lease
    this.#home = home
    this.#drop = drop
    this.#endScope = how.endScope
    this.#onEnd = how.onEnd
    this.#zone = how.zone
  }

  /** Takes `conn` out of `home` (the scope's lease in `context`) for a tool's transaction. */
  static take(host: CompatHost, context: Context, home: Lease, conn: PoolConnection, how: TakeOptions): ToolTransaction {
    const side = context.frame.sideLease(host.pool)
    home.detach(conn)
    side.lease.attach(conn)
    return new ToolTransaction(host, side.lease, home, side.drop, how)
  }

  /** The connection the transaction runs on (none after it was lost). */
  get connection(): PoolConnection | undefined {
    return this.lease.current
  }

  /** Runs one statement of the transaction; ends it when the server says it is over (or its loss was acknowledged). */
  run(method: Method, sql: unknown, values: unknown, cb: Callback): void {
    runStatement(this.lease, this.#host.classify, { method, sql, values, options: undefined, zone: this.#zone }, (err, rows, fields) => {
      const conn = this.lease.current
      if (!this.lease.lost && (!conn || !this.#host.pool.inTransaction(conn))) this.end(false)
      cb(err, rows, fields)
    })
  }

  /**
   * Gives the connection back to the scope's lease (or to the pool when the scope holds another).
   * `abandoned`: the tool let go inside the transaction; the lease's release rolls it back (logged).
   */
  end(abandoned: boolean): void {
    if (this.#ended) return
    this.#ended = true
    const conn = this.lease.current
    if (conn && !abandoned && !this.#host.pool.inTransaction(conn)) {
      this.lease.detach(conn)
      if (!this.#home.attach(conn)) this.#host.pool.release(conn)
    }
    void this.lease.end()
    this.#drop()
    this.#onEnd(this)
    this.#endScope?.()
  }
}
