/**
 * @module
 * Scopes: one AsyncLocalStorage frame per unit of work. A scope leases at most one
 * connection per alias, lazily at first use, and gives it back when the scope ends
 * (or destroys it when it broke). Concurrent statements of one scope share its
 * connection; mysql2 runs them one after another.
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks'
import type { PoolConnection } from 'mysql2'
import { ErrorCodes, LifespanError, TransactionLostError } from './errors.js'
import { log } from './log.js'
import type { Logger } from './options.js'
import type { ConnectionCallback, ConnectionSource, DestroyReason } from './pool.js'
import { observedAcquire, publishScopeEnd, publishScopeStart, scopeEnd, scopeStart } from './observe/scope-events.js'

/** The kind of a scope: the unit of work it stands for. */
export type ScopeKind = 'startup' | 'task' | 'shutdown'

/** What {@link Lifespan.currentScope} tells about the running scope. */
export interface ScopeInfo {
  /** Process-unique, increasing id. */
  readonly id: number
  /** What the scope stands for. */
  readonly kind: ScopeKind
  /** `Date.now()` when the scope opened. */
  readonly startedAt: number
}

/** @internal A `transaction()` open in an async context: `db()` of its alias sends statements to it. */
export interface ScopeTransaction {
  run(method: 'query' | 'execute', sql: unknown, values: unknown): Promise<[unknown, unknown]>
}

/** @internal What the AsyncLocalStorage holds: the scope, plus the transactions open in this async context. */
export interface Context {
  readonly frame: Frame
  readonly txs: ReadonlyMap<string, ScopeTransaction> | undefined
}

/** @internal */
export const storage = new AsyncLocalStorage<Context>()

let nextId = 1

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
   * first use. Callbacks rather than promises: this runs for every scope.
   */
  withConnection(done: ConnectionCallback): void {
    if (this.txDone) {
      this.txDone.then(() => this.withConnection(done))
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
    })
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

/** @internal One scope. */
export class Frame implements ScopeInfo, Context {
  readonly id = nextId++
  readonly kind: ScopeKind
  readonly startedAt = Date.now()
  /** A frame is its own {@link Context} (no transaction open): one object less per scope. */
  readonly frame: Frame = this
  readonly txs: undefined = undefined
  /** Where the scope was opened; captured only when leak detection is on. */
  readonly stack: string | undefined
  /** Position in {@link ActiveScopes} while open; -1 otherwise. */
  slot = -1
  /** The lease of the first alias used: most scopes use one alias, and need no Map. */
  private firstLease: Lease | undefined
  /** Leases of further aliases (or of an alias's replicas: one per connection source, not per name). */
  private leases: Map<ConnectionSource, Lease> | undefined
  /** Side leases (src/compat: a tool's own transaction), ended with the others. */
  private sideLeases: Set<Lease> | undefined
  private settle: ((ok: boolean, value: unknown) => void) | undefined
  interruption: LifespanError | undefined
  /** Where the library logs while this scope runs, when the alias has no logger of its own (an adapter's request logger). */
  logger: Logger | undefined
  /** The scope has ended; statements still made from its async context get a scope of their own. */
  closed = false

  constructor(kind: ScopeKind, captureStack: boolean) {
    this.kind = kind
    this.stack = captureStack ? new Error('scope opened here').stack : undefined
  }

  /**
   * Runs `fn` in this scope. When `fn` settles (or the scope is interrupted) the leases end,
   * `onClosed` is told, and only then does the returned promise settle.
   */
  run<T>(fn: () => T | Promise<T>, onClosed: (frame: Frame) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false
      const settle = (ok: boolean, value: unknown): void => {
        if (done) return
        done = true
        this.closeThen(() => finishRun(this, onClosed, ok, value, resolve, reject))
      }
      this.settle = settle
      storage.run(this, enter, fn, settle)
    })
  }

  /**
   * @internal Opens the scope for a caller that holds it instead of running in it (src/compat: a
   * connection checked out outside any scope). `body(end)` runs at once; the scope ends when `end`
   * is called (its leases ended, `onClosed` told), or when it is interrupted. No AsyncLocalStorage
   * frame is entered and no promise made, unless a diagnostics subscriber needs the scope as the
   * current store. Statements reach the scope through the holder, not through the store.
   */
  hold(onClosed: (frame: Frame) => void, body: (frame: Frame, end: () => void) => void): void {
    let done = false
    const end = (): void => {
      if (done) return
      done = true
      this.closeThen(() => finishHeld(this, onClosed))
    }
    this.settle = end
    if (scopeStart.hasSubscribers || scopeEnd.hasSubscribers || observedAcquire()) return storage.run(this, enterHeld, this, body, end)
    body(this, end)
  }

  /** The lease of `pool`'s alias in this scope, created on first use. */
  lease(pool: ConnectionSource): Lease {
    const first = this.firstLease
    if (first?.pool === pool) return first
    if (!first) return (this.firstLease = new Lease(pool, this))
    const leases = (this.leases ??= new Map())
    let lease = leases.get(pool)
    if (!lease) {
      lease = new Lease(pool, this)
      leases.set(pool, lease)
    }
    return lease
  }

  /**
   * @internal A second lease of `pool`'s alias, ended with the scope like the first: a tool's own
   * transaction (src/compat) keeps its connection there while the scope's other statements use
   * the alias's lease. `drop` forgets it once the transaction gave its connection back.
   */
  sideLease(pool: ConnectionSource): { lease: Lease; drop: () => void } {
    // The alias's own lease first: close() starts from the first lease.
    this.lease(pool)
    const lease = new Lease(pool, this)
    const side = (this.sideLeases ??= new Set())
    side.add(lease)
    return { lease, drop: () => void side.delete(lease) }
  }

  /** Stops the scope: its promise rejects with `error` (its connections destroyed); later statements in it reject too. */
  interrupt(error: LifespanError): void {
    if (this.interruption) return
    this.interruption = error
    this.settle?.(false, error)
  }

  /** {@link Frame.close}, then `finish` (at once when nothing had to wait). */
  private closeThen(finish: () => void): void {
    const closing = this.close()
    if (!closing) return finish()
    closing.then(finish, finish)
  }

  /** Gives every leased connection back (or destroys them when the scope was interrupted). */
  private close(): Promise<void> | undefined {
    this.closed = true
    const first = this.firstLease
    if (!first) return undefined
    const leases = this.leases
    const side = this.sideLeases
    this.firstLease = undefined
    this.leases = undefined
    this.sideLeases = undefined
    const reason: DestroyReason | undefined = this.interruption ? 'interrupted' : undefined
    const wait = first.end(reason)
    if (!leases && !side) return wait
    const waits = wait ? [wait] : []
    for (const lease of [...(leases?.values() ?? []), ...(side ?? [])]) {
      const w = lease.end(reason)
      if (w) waits.push(w)
    }
    return waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined
  }
}

/**
 * @internal The scopes open right now. An array with swap-remove, not a Set: a Set that gains and
 * loses a member on every scope rehashes often, and V8 links each discarded table to its successor
 * (for live iterators). Once one discarded table reached the old generation, that chain kept every
 * later scope alive through each young-generation GC: about 500 bytes promoted per scope and
 * scavenges ten times longer (benchmarks/RESULTS.md, hot path).
 */
export class ActiveScopes {
  readonly #frames: Frame[] = []

  /** How many scopes are open. */
  get size(): number {
    return this.#frames.length
  }

  add(frame: Frame): void {
    if (frame.slot >= 0) return
    frame.slot = this.#frames.length
    this.#frames.push(frame)
  }

  /** Removes `frame`; false when it was not open. */
  delete(frame: Frame): boolean {
    const slot = frame.slot
    if (slot < 0 || this.#frames[slot] !== frame) return false
    const last = this.#frames.pop() as Frame
    if (last !== frame) {
      this.#frames[slot] = last
      last.slot = slot
    }
    frame.slot = -1
    return true
  }

  /** A copy of the open scopes (safe to iterate while they close), without `except`. */
  list(except?: Frame): Frame[] {
    return this.#frames.filter((f) => f !== except)
  }
}

/** The start of a scope, inside its AsyncLocalStorage frame. Settles only when `fn` settles, never by adopting its promise: interrupt() must still win. */
function enter(fn: () => unknown, settle: (ok: boolean, value: unknown) => void): void {
  if (scopeStart.hasSubscribers) publishScopeStart(storage.getStore()?.frame)
  try {
    const result = fn()
    if (isThenable(result)) result.then((value) => settle(true, value), (err: unknown) => settle(false, err))
    else settle(true, result)
  } catch (err) {
    settle(false, err)
  }
}

/** The end of a scope, its leases ended: tell the lifespan, then settle the scope's promise. */
function finishRun<T>(frame: Frame, onClosed: (frame: Frame) => void, ok: boolean, value: unknown, resolve: (value: T) => void, reject: (reason: unknown) => void): void {
  if (scopeEnd.hasSubscribers) publishScopeEnd(frame, ok)
  onClosed(frame)
  if (ok) resolve(value as T)
  else reject(value)
}

/** The start of a held scope ({@link Frame.hold}) that diagnostics subscribers watch: inside its store. */
function enterHeld(frame: Frame, body: (frame: Frame, end: () => void) => void, end: () => void): void {
  if (scopeStart.hasSubscribers) publishScopeStart(frame)
  body(frame, end)
}

/** The end of a held scope, its leases ended. */
function finishHeld(frame: Frame, onClosed: (frame: Frame) => void): void {
  if (scopeEnd.hasSubscribers) publishScopeEnd(frame, frame.interruption === undefined)
  onClosed(frame)
}

function isThenable(value: unknown): value is PromiseLike<never> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

/** @internal The logger the running scope was given, if any. */
export function scopeLogger(): Logger | undefined {
  return storage.getStore()?.frame.logger
}

/** @internal The error a scope gets when it is stopped at a shutdown deadline or by `destroy()`. */
export function interruptedError(why: string): LifespanError {
  return new LifespanError(`The scope was interrupted: ${why}.`, { code: ErrorCodes.SCOPE_INTERRUPTED })
}
