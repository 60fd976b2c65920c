/**
 * @module
 * A scope's connection for one alias: acquired and validated at first use, shared by the scope's
 * concurrent statements (mysql2 runs them one after another), owned by a transaction while one
 * runs, given back when the scope ends (or destroyed when it broke).
 */
import { AsyncResource } from 'node:async_hooks'
import type { PoolConnection } from 'mysql2'
import { TransactionLostError } from './errors.js'
import { log } from './log.js'
import type { ConnectionCallback, ConnectionSource, DestroyReason } from './pool.js'
import type { Frame } from './scope.js'

/** @internal A connection leased to a scope for one alias. */
export class Lease {
  readonly pool: ConnectionSource
  private readonly frame: Frame
  private conn: PoolConnection | undefined
  /** Set while the connection is being acquired: the first statement that asked for it. */
  private waiter: ConnectionCallback | undefined
  /** Statements after the first that asked for it meanwhile (concurrent statements of one scope). */
  private moreWaiters: ConnectionCallback[] | undefined
  /** Set while a transaction owns the connection: other statements of the scope wait for it. */
  private txDone: Promise<void> | undefined
  private leakTimer: NodeJS.Timeout | undefined
  /** Statements (or transactions) running on the connection right now. */
  private inFlight = 0
  /** The scope ended while statements were still running: give the connection back after the last one. */
  private endPending = false
  /** {@link Lease.end} was called: the lease takes no connection back. */
  private ended = false
  /**
   * Set when the connection died inside a transaction the scope opened with SQL: until the scope
   * sends ROLLBACK, its statements on this alias are refused (see statement.ts), so nothing of the
   * lost transaction can autocommit on another connection.
   */
  lost: TransactionLostError | undefined
  /** The statement after which the connection was first seen inside a transaction (for the warning at release). */
  openedBy: string | undefined

  constructor(pool: ConnectionSource, frame: Frame) {
    this.pool = pool
    this.frame = frame
  }

  /**
   * Calls `done` with the scope's connection for this alias, acquiring and validating it on
   * first use (within `timeoutMs`, the alias's `acquireTimeoutMs` by default). Callbacks rather
   * than promises: this runs for every scope.
   */
  withConnection(done: ConnectionCallback, timeoutMs?: number): void {
    if (this.txDone) {
      this.txDone.then(() => this.withConnection(done, timeoutMs))
      return
    }
    if (this.frame.interruption) return done(this.frame.interruption)
    if (this.lost) return done(this.lost)
    if (this.conn) return done(null, this.conn)
    if (this.waiter) {
      // Called back from the first statement's context: re-entered here, each runs (and is traced) in its own.
      const caller = new AsyncResource('mysql-lifespan:statement')
      ;(this.moreWaiters ??= []).push((err, conn) => caller.runInAsyncScope(done, null, err, conn))
      return
    }
    this.waiter = done
    this.pool.acquireWith((err, conn) => {
      const first = this.waiter as ConnectionCallback
      const more = this.moreWaiters
      this.waiter = undefined
      this.moreWaiters = undefined
      if (conn && this.frame.interruption) {
        this.pool.destroy(conn, 'interrupted')
        err = this.frame.interruption
        conn = undefined
      }
      if (conn) {
        this.conn = conn
        this.watchForLeak()
      }
      // A failed acquisition is reported to everyone waiting; the next statement starts a new one.
      first(err, conn)
      if (more) for (const waiter of more) waiter(err, conn)
    }, timeoutMs)
  }

  /**
   * The scope's connection when {@link Lease.withConnection} would call back with it at once: the
   * statement path's common case, without a callback. Undefined when it would wait, acquire or fail.
   */
  get ready(): PoolConnection | undefined {
    return this.txDone || this.frame.interruption || this.lost ? undefined : this.conn
  }

  /** {@link Lease.withConnection} as a promise (transactions). */
  connection(): Promise<PoolConnection> {
    return new Promise((resolve, reject) => this.withConnection((err, conn) => (conn ? resolve(conn) : reject(err))))
  }

  /** The connection died inside a transaction opened with SQL: refuse the scope's statements until ROLLBACK. */
  markLost(cause: unknown): void {
    this.lost ??= new TransactionLostError(this.pool.alias, cause)
    this.openedBy = undefined
  }

  /** The scope acknowledged the lost transaction (ROLLBACK or COMMIT). */
  clearLost(): void {
    this.lost = undefined
  }

  /**
   * `conn` broke: it is destroyed, the pool's older idle connections become suspect, and a
   * transaction it was in (`inTransaction`) is lost for the scope.
   */
  broke(conn: PoolConnection, inTransaction: boolean, cause: unknown): void {
    this.discard(conn, 'broken')
    this.pool.suspectAll()
    if (inTransaction) this.markLost(cause)
  }

  /** Gives up `conn` after it broke; the next statement gets a fresh connection. */
  discard(conn: PoolConnection, reason: DestroyReason): void {
    this.pool.destroy(conn, reason)
    if (this.conn === conn) this.conn = undefined
  }

  /** @internal The connection bound to the scope right now, if any (compat facades read its `threadId`). */
  get current(): PoolConnection | undefined {
    return this.conn
  }

  /**
   * @internal Takes `conn` out of the lease without giving it back to the pool: a tool's own
   * transaction (src/compat) keeps it, and the scope's other statements get another connection.
   */
  detach(conn: PoolConnection): void {
    if (this.conn === conn) this.conn = undefined
  }

  /** @internal Puts a detached connection back; false when the lease has ended or holds another one (the caller releases it then). */
  attach(conn: PoolConnection): boolean {
    if (this.ended || this.conn || this.waiter || this.frame.interruption) return false
    this.conn = conn
    return true
  }

  /** Makes a transaction the only user of the connection until `release()` is called. */
  lockForTransaction(): () => void {
    let unlock!: () => void
    this.txDone = new Promise((resolve) => (unlock = resolve))
    return () => {
      this.txDone = undefined
      unlock()
    }
  }

  /**
   * Marks work running on the connection; call {@link Lease.unhold} once when it settles.
   * A connection is never handed to another scope while a statement of this one is in flight.
   */
  hold(): void {
    this.inFlight++
  }

  /** The work marked by {@link Lease.hold} settled. */
  unhold(): void {
    if (--this.inFlight === 0 && this.endPending) this.giveBack()
  }

  /**
   * Ends the lease: the connection goes back to the pool (or is destroyed when `reason` is given).
   * Synchronous unless an acquisition is still under way, then a promise of its end.
   */
  end(reason?: DestroyReason): Promise<void> | undefined {
    this.ended = true
    if (this.leakTimer) clearTimeout(this.leakTimer)
    // End once the acquisition under way is over (its failure was reported to its waiters).
    if (this.waiter) return new Promise((resolve) => (this.moreWaiters ??= []).push(() => resolve(this.end(reason))))
    if (reason) {
      const conn = this.conn
      this.conn = undefined
      if (conn) this.pool.destroy(conn, reason)
      return undefined
    }
    // Work the scope did not await (fire and forget) still owns the connection.
    if (this.inFlight > 0) this.endPending = true
    else this.giveBack()
    return undefined
  }

  private giveBack(): void {
    this.endPending = false
    const conn = this.conn
    this.conn = undefined
    this.lost = undefined
    if (!conn) return
    if (this.pool.inTransaction(conn)) {
      log(
        this.pool.options.logger,
        'warn',
        { alias: this.pool.alias, scopeId: this.frame.id, kind: this.frame.kind, openedBy: this.openedBy, stack: this.frame.stack },
        `A scope ended inside a transaction on "${this.pool.alias}"; it was rolled back (COMMIT or ROLLBACK before the scope ends)`,
      )
    }
    this.openedBy = undefined
    this.pool.release(conn)
  }

  private watchForLeak(): void {
    const { leakWarningMs } = this.pool.options
    if (leakWarningMs <= 0) return
    this.leakTimer = setTimeout(() => {
      log(
        this.pool.logger,
        'warn',
        { alias: this.pool.alias, scopeId: this.frame.id, kind: this.frame.kind, heldMs: Date.now() - this.frame.startedAt, stack: this.frame.stack },
        `A scope has held a connection of "${this.pool.alias}" for more than ${leakWarningMs} ms (possible leak)`,
      )
    }, leakWarningMs)
    this.leakTimer.unref()
  }
}
