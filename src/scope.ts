/**
 * @module
 * Scopes: one AsyncLocalStorage frame per unit of work. A scope leases at most one
 * connection per alias, lazily at first use, and gives it back when the scope ends
 * (or destroys it when it broke). Concurrent statements of one scope share its
 * connection; mysql2 runs them one after another.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { ErrorCodes, LifespanError } from './errors.js'
import { Lease } from './lease.js'
import type { Logger } from './options.js'
import type { ConnectionSource, DestroyReason } from './pool.js'
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

export { Lease }

let nextId = 1

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
