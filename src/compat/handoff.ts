/**
 * @module
 * Hand-over between a tool's checkouts outside any scope. Each such checkout holds an implicit
 * scope with a validated connection until the tool releases it. When the tool releases it while
 * other tool checkouts of the alias wait for a connection, the scope and its connection go
 * straight to the oldest of them: no return to the pool, no new scope, no second validation.
 * It is the hand-off queue of HikariCP's ConcurrentBag, for tools that check a connection out per
 * query (Kysely, Drizzle, TypeORM, Knex); a full pool then costs them what a plain mysql2 pool
 * costs (benchmarks/RESULTS.orm.md).
 *
 * A scope is passed on only while nothing is lost by it:
 * - it is younger than the alias's `aliveBypassMs`: its connection was validated on entry less than
 *   that long ago and answered each statement since, so it is as trusted as a connection the pool
 *   would hand out without a ping (`aliveBypassMs: 0` turns hand-over off);
 * - no `db()` scope waits in the pool (the connection goes back to the pool, first come first served);
 * - its connection is not inside a transaction, and the tool did not abandon its own transaction;
 * - a session the tool changed is reset first: the connection then goes back to the pool and the
 *   next checkout takes a fresh one through the scope;
 * - nobody watches scopes, acquisitions or releases (`node:diagnostics_channel`), leak warnings are
 *   off, the alias has one server, and `strict` mode is off (it refuses implicit scopes anyway).
 *
 * Once shutdown has begun a scope is passed on regardless of its age: the tool checkouts waiting
 * then were admitted before it began, and shutdown drains them. New checkouts are refused then.
 * A checkout waits for a hand-over at most {@link PATIENCE_MS}, then asks the pool like any other,
 * within what is left of `acquireTimeoutMs`.
 */
import { connectionRelease } from '../observe/channels.js'
import { observedAcquire, scopeEnd, scopeStart } from '../observe/scope-events.js'
import type { Context, Lease } from '../scope.js'
import { implicitScope } from './checkout.js'
import type { Checkout } from './checkout.js'
import type { CompatHost } from './host.js'

/** How long a tool checkout waits for a hand-over before it asks the pool instead. */
export const PATIENCE_MS = 100

/** @internal Told once with a checkout or with the reason there is none. */
export type CheckoutCallback = (err: unknown, checkout?: Checkout) => void

const handoffs = new WeakMap<CompatHost, Handoff>()

/** @internal The hand-over of `host`'s alias (one per alias, shared by every facade of it). */
export function handoffOf(host: CompatHost): Handoff {
  let handoff = handoffs.get(host)
  if (!handoff) handoffs.set(host, (handoff = new Handoff(host)))
  return handoff
}

/** @internal Tool checkouts outside any scope, and the hand-over of their scopes. */
export class Handoff {
  readonly #host: CompatHost
  /** What the alias's options allow (they do not change); observers are checked on each use. */
  readonly #optionsAllow: boolean
  /** Checkouts holding an implicit scope (handed to a tool, not yet released). */
  #held = 0
  /** Checkouts waiting for a hand-over, oldest first, and when each began to wait (two arrays: no object per wait). */
  readonly #waiters: CheckoutCallback[] = []
  readonly #since: number[] = []
  /** Set while checkouts wait: fires when the oldest has waited {@link PATIENCE_MS}. */
  #timer: NodeJS.Timeout | undefined
  /** Checkouts asking the pool right now (some may wait in its queue). */
  #fromPoolNow = 0

  constructor(host: CompatHost) {
    this.#host = host
    const { options } = host.pool
    this.#optionsAllow = options.leakWarningMs === 0 && options.aliveBypassMs > 0 && !options.strict && host.single
  }

  /** A checkout outside any scope: it waits for a hand-over when the pool has nothing free, else asks the pool. */
  checkOut(done: CheckoutCallback): void {
    if (!this.#waits()) return this.#fromPool(done, undefined)
    this.#waiters.push(done)
    this.#since.push(Date.now())
    this.#timer ??= this.#arm(PATIENCE_MS)
  }

  /**
   * The tool released a checkout that held an implicit scope (`end` closes it). `pinned`: the tool
   * let go inside its own transaction.
   */
  release(context: Context, end: () => void, pinned: boolean): void {
    const waiting = this.#waiters.length
    const lease = waiting > 0 && !pinned ? this.#carried(context) : undefined
    if (lease) return this.#passOn(context, lease, end)
    this.#held--
    // The connection goes back to the pool. When a tool checkout waits in the pool's queue and no
    // `db()` scope does, it serves that checkout; else the oldest checkout waiting here asks the pool.
    const servesOurs = waiting > 0 && this.#fromPoolNow > 0 && this.#host.pool.counts().waiting <= this.#fromPoolNow
    end()
    if (waiting === 0 || servesOurs) return
    const since = this.#since.shift() as number
    this.#fromPool(this.#waiters.shift() as CheckoutCallback, since + this.#host.pool.options.acquireTimeoutMs)
  }

  /**
   * Whether a new checkout waits for a hand-over: only while a tool checkout holds a connection
   * (one that will release it), the pool has no free connection and may open no more, and no `db()`
   * scope waits in it (tool checkouts may: they are served first). A checkout whose holders do not
   * release within {@link PATIENCE_MS} asks the pool.
   */
  #waits(): boolean {
    if (this.#held === 0 || !this.#allowed() || this.#host.state() !== 'running') return false
    const pool = this.#host.pool
    const { open, inUse, waiting } = pool.counts()
    if (waiting > this.#fromPoolNow) return false
    // Tool checkouts ahead in the pool's queue take whatever it frees first.
    return waiting > 0 || (inUse >= open && pool.limit > 0 && open >= pool.limit)
  }

  /** What the alias's options and the observers allow (see the module's comment). */
  #allowed(): boolean {
    return this.#optionsAllow && !(scopeStart.hasSubscribers || scopeEnd.hasSubscribers || observedAcquire() || connectionRelease.hasSubscribers)
  }

  /** The released scope's lease when the scope goes on to a waiting checkout (see the module's comment), else undefined. */
  #carried(context: Context): Lease | undefined {
    const { frame } = context
    if (frame.closed) return undefined
    const pool = this.#host.pool
    const lease = frame.lease(pool)
    const conn = lease.current
    if (lease.lost || (conn && pool.inTransaction(conn))) return undefined
    const state = this.#host.state()
    if (state === 'stopping') return lease
    // Anyone waiting in the pool's queue was there first: the connection goes back to serve them.
    if (state !== 'running' || !this.#allowed() || pool.counts().waiting > 0) return undefined
    return Date.now() - frame.startedAt < pool.options.aliveBypassMs ? lease : undefined
  }

  /** Hands the scope (and its connection, when its session is the baseline) to the oldest waiting checkout. */
  #passOn(context: Context, lease: Lease, end: () => void): void {
    let conn = lease.current
    if (conn && !this.#host.pool.clean(conn)) {
      // Reset and returned by the pool; the next statement of the scope takes a connection through the lease.
      lease.detach(conn)
      this.#host.pool.release(conn)
      conn = undefined
    }
    this.#since.shift()
    process.nextTick(this.#waiters.shift() as CheckoutCallback, null, { context, end, connection: conn })
  }

  #arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(this.#expire, ms)
    // A waiting checkout never keeps the process alive by itself: the checkouts it waits for do.
    timer.unref()
    return timer
  }

  /** The checkouts that waited {@link PATIENCE_MS} ask the pool, within what is left of `acquireTimeoutMs`. */
  #expire = (): void => {
    this.#timer = undefined
    const now = Date.now()
    const { acquireTimeoutMs } = this.#host.pool.options
    // Once shutdown has begun the pool admits nobody new: a waiting checkout waits for its hand-over
    // until its acquisition time is up (then the pool refuses it, saying why).
    const patience = this.#host.state() === 'stopping' ? acquireTimeoutMs : PATIENCE_MS
    while (this.#since.length > 0 && (this.#since[0] as number) + patience <= now) {
      const since = this.#since.shift() as number
      this.#fromPool(this.#waiters.shift() as CheckoutCallback, since + acquireTimeoutMs)
    }
    if (this.#since.length > 0) this.#timer = this.#arm(Math.min(PATIENCE_MS, (this.#since[0] as number) + patience - now))
  }

  /** A checkout through the pool: an implicit scope whose lease acquires a validated connection, within `deadline` if given. */
  #fromPool(done: CheckoutCallback, deadline: number | undefined): void {
    const host = this.#host
    const timeoutMs = deadline === undefined ? undefined : Math.max(1, deadline - Date.now())
    this.#fromPoolNow++
    implicitScope(
      host,
      (context, end) =>
        context.frame.lease(host.pool).withConnection((err, conn) => {
          this.#fromPoolNow--
          if (err) {
            end()
            return done(err)
          }
          this.#held++
          done(null, { context, end, connection: conn })
        }, timeoutMs),
      (err) => {
        this.#fromPoolNow--
        done(err)
      },
    )
  }
}
