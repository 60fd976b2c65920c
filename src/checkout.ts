/**
 * @module
 * The checkout of one alias's pool: acquisition within `acquireTimeoutMs` (waiting for a slot,
 * connecting, retrying refused connects with backoff) and validation on entry (max age, the
 * server's idle limit, a ping past the bypass window, the first statements of a new connection).
 * Callbacks, not promises: this runs for every scope.
 */
import { AsyncResource } from 'node:async_hooks'
import type { Pool, PoolConnection } from 'mysql2'
import pRetry from 'p-retry'
import { Deadlines } from './deadlines.js'
import { AcquireTimeoutError, ErrorCodes, LifespanError, withCode } from './errors.js'
import { FailureLog } from './failure-log.js'
import * as events from './observe/pool-events.js'
import type { AliasPool } from './pool.js'
import { type ConnectionCallback, type ConnectionMeta, type MysqlPoolInternals, idleLimitFromWaitTimeout } from './pool-types.js'
import { prepareSession } from './session.js'

/** One attempt ran out of the acquisition's time. An Error, because p-retry rejects anything else. */
class AttemptTimeout extends Error {}
const timedOut = (err: unknown): boolean => err instanceof AttemptTimeout

/** @internal The acquisition and entry validation of one {@link AliasPool}. */
export class Checkout {
  private readonly owner: AliasPool
  private readonly mysql: Pool
  /** Acquisitions under way (waiting for a slot, connecting or validating). */
  waiting = 0
  /** The last reason a connection was refused, for the cause of an acquisition timeout. */
  private lastFailure: unknown = undefined
  /** Logs failed connect attempts at warn, rate-limited. */
  private readonly failures = new FailureLog()
  /** When each socket checkout() asked mysql2 to open began (oldest first), for the create time. */
  readonly creating: number[] = []
  /** Deadlines of checkouts waiting in mysql2's queue, under one timer. */
  private readonly deadlines = new Deadlines<ConnectionCallback>((done) => done(new AttemptTimeout('no connection within the acquisition deadline')))
  /** What `stats()` reports of the checkout. */
  readonly counters = { validations: 0, pings: 0, pingFailures: 0, acquireTimeouts: 0 }

  constructor(owner: AliasPool, mysql: Pool) {
    this.owner = owner
    this.mysql = mysql
  }

  /**
   * Gets a validated connection within `acquireTimeoutMs` and calls `done` once with it or with
   * the failure. Stale connections are replaced without delay; connect failures that a retry can
   * fix are retried with backoff; anything else (wrong password, unknown database) fails at once
   * with mysql2's error. The failure at the deadline is an {@link AcquireTimeoutError} with the
   * last cause. Callbacks, not promises: on Node 20 every promise also pays for AsyncLocalStorage's
   * hooks, and this runs for every scope.
   */
  acquireWith(done: ConnectionCallback, timeoutMs = this.owner.options.acquireTimeoutMs): void {
    if (events.acquire.hasSubscribers) return events.traceAcquire(this.owner, done, (cb) => this.acquireNow(cb, timeoutMs))
    this.acquireNow(done, timeoutMs)
  }

  private acquireNow(done: ConnectionCallback, timeoutMs: number): void {
    if (this.owner.closed) return done(new LifespanError(`The pool of "${this.owner.alias}" is closed.`, { code: ErrorCodes.STOPPED }))
    const deadline = Date.now() + timeoutMs
    this.waiting++
    // The first attempt starts now, within its deadline: no second look at the clock (Date.now() is not free).
    this.checkout(deadline, (err, conn) => {
      if (conn) return this.finish(done, null, conn)
      if (!this.shouldRetryConnect(err, deadline)) return this.finish(done, this.toAcquireError(err))
      // Rare: the server refused or the path failed. Back off and try again until the deadline.
      let last: unknown = err
      pRetry(() => new Promise<PoolConnection>((res, rej) => this.attempt(deadline, (e, c) => (c ? res(c) : rej(e)))), {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 25,
        maxTimeout: 1_000,
        randomize: true,
        maxRetryTime: Math.max(0, deadline - Date.now()),
        onFailedAttempt: ({ error }) => {
          // The final attempt's own timeout says nothing; keep the failure before it.
          if (!timedOut(error)) last = error
        },
        shouldRetry: ({ error }) => this.shouldRetryConnect(error, deadline),
      }).then(
        (c) => this.finish(done, null, c),
        (error: unknown) => this.finish(done, this.toAcquireError(timedOut(error) ? last : error)),
      )
    })
  }

  /** An acquisition is over: with a connection (now leased) or with its failure. */
  private finish(done: ConnectionCallback, err: unknown, conn?: PoolConnection): void {
    this.waiting--
    if (conn) this.owner.markLeased(conn)
    done(err, conn)
  }

  private shouldRetryConnect(err: unknown, deadline: number): boolean {
    if (this.owner.closed || Date.now() >= deadline) return false
    if (timedOut(err)) return false
    const cls = this.owner.classify(err)
    return cls === 'connect-refused' || cls === 'disconnect' || cls === 'read-only'
  }

  private toAcquireError(err: unknown): unknown {
    if (this.owner.closed) return new LifespanError(`The pool of "${this.owner.alias}" is closed.`, { code: ErrorCodes.STOPPED, cause: err })
    const cause = timedOut(err) ? this.lastFailure : err
    const cls = cause === undefined ? 'disconnect' : this.owner.classify(cause)
    // Errors a retry cannot fix surface as they are (mysql2's code intact).
    if (cls === 'fatal-config' || cls === 'other') return withCode(cause, cls)
    this.counters.acquireTimeouts++
    return new AcquireTimeoutError(this.owner.alias, this.owner.options.acquireTimeoutMs, this.owner.counts(), cause)
  }

  /** Checks out connections until one passes validation; fails on a checkout error or at the deadline. */
  private attempt(deadline: number, done: ConnectionCallback): void {
    if (deadline <= Date.now() || this.owner.closed) return done(new AttemptTimeout('acquisition deadline passed'))
    this.checkout(deadline, done)
  }

  /** What {@link Checkout.checkout} got from mysql2: validate it, or try again. */
  private checkedOut(deadline: number, done: ConnectionCallback, err: unknown, conn: PoolConnection | undefined): void {
    if (!conn) {
      if (!timedOut(err)) this.attemptFailed(err)
      return done(err)
    }
    const valid = this.validate(conn, deadline)
    if (valid === true) return done(null, conn)
    if (valid === false) return this.attempt(deadline, done)
    valid.then(
      (ok) => (ok ? done(null, conn) : this.attempt(deadline, done)),
      (e: unknown) => done(e),
    )
  }

  /** A connect (or first-read) attempt failed: remembered for the timeout's cause, published, logged at warn (rate-limited). */
  private attemptFailed(err: unknown): void {
    this.lastFailure = err
    events.attemptFailed(this.owner, err)
    this.failures.note(this.owner.logger, this.owner.alias, err)
  }

  /** One connection from mysql2, within the deadline, handed to {@link Checkout.checkedOut}. */
  private checkout(deadline: number, done: ConnectionCallback): void {
    const mysqlPool = this.mysql as unknown as MysqlPoolInternals
    // With a free connection mysql2 answers on the next tick, in our caller's context: no wait to bound.
    if (mysqlPool._freeConnections.length > 0) return this.mysql.getConnection((err, conn) => this.checkedOut(deadline, done, err, conn))
    const wait = this.deadlines.start(deadline, done)
    // mysql2 calls a waiting checkout back from the context of whoever released a connection, and
    // a new connection's from the context that opened it (the pool's): re-entered here, the caller's
    // statements run (and are traced) in the caller's own async context either way. A resource and
    // runInAsyncScope, not AsyncResource.bind: the bound function (with its defined properties) cost
    // a third more young-generation GCs per request under load (benchmarks, Fastify).
    const caller = new AsyncResource('mysql-lifespan:checkout')
    const onConnection = (err: NodeJS.ErrnoException | null, conn: PoolConnection): void => {
      if (!this.deadlines.end(wait)) {
        // Arrived after we gave up: hand it back so the slot is not lost.
        if (conn) conn.release()
        return
      }
      caller.runInAsyncScope(this.checkedOut, this, deadline, done, err, err ? undefined : conn)
    }
    const { connectionLimit } = mysqlPool.config
    // mysql2 opens a socket right here when it may: do that from the pool's own context.
    if (connectionLimit === 0 || mysqlPool._allConnections.length < connectionLimit) {
      const since = Date.now()
      this.creating.push(since)
      this.owner.home.runInAsyncScope(() =>
        this.mysql.getConnection((err, conn) => {
          this.creating.splice(this.creating.indexOf(since), 1)
          onConnection(err, conn)
        }),
      )
    } else {
      this.mysql.getConnection(onConnection)
    }
  }

  /**
   * Validation on entry: `true`, `false` (the connection was destroyed), or a promise of either
   * when a round trip is needed. Synchronous in the common case: no promise for a trusted connection.
   */
  private validate(conn: PoolConnection, deadline: number): boolean | Promise<boolean> {
    const m = this.owner.metaOf(conn)
    this.counters.validations++
    if (m.idleLimitMs === undefined) return this.readIdleLimit(conn, m, deadline)
    const now = Date.now()
    if (m.maxAgeMs > 0 && now - m.createdAt >= m.maxAgeMs) {
      this.owner.destroy(conn, 'maxAge')
      return false
    }
    const idle = now - m.lastUsedAt
    if (m.idleLimitMs > 0 && idle >= m.idleLimitMs) {
      // The server has closed it, or will before we are done: no point pinging.
      this.owner.destroy(conn, 'idle')
      return false
    }
    if (m.epoch < this.owner.epoch || (this.owner.options.healthCheck && idle >= this.owner.options.aliveBypassMs)) return this.pingCheck(conn, m, deadline)
    return true
  }

  private async pingCheck(conn: PoolConnection, m: ConnectionMeta, deadline: number): Promise<boolean> {
    this.counters.pings++
    const started = Date.now()
    const ok = await this.owner.internal(() => pingWithin(conn, Math.min(this.owner.options.pingTimeoutMs, Math.max(1, deadline - Date.now()))))
    events.validated(this.owner, conn, 'ping', ok, started)
    if (!ok) {
      this.lastFailure = new LifespanError(`Validation ping failed or took longer than ${this.owner.options.pingTimeoutMs} ms`, {
        code: ErrorCodes.PING_FAILED,
      })
      this.counters.pingFailures++
      this.owner.destroy(conn, 'ping')
      this.owner.suspectAll()
      return false
    }
    m.epoch = this.owner.epoch
    return true
  }

  /**
   * A new connection: read the server's idle limit and the handshake's session settings, and turn on
   * session-state tracking (it also proves the connection works).
   */
  private async readIdleLimit(conn: PoolConnection, m: ConnectionMeta, deadline: number): Promise<boolean> {
    const timeoutMs = Math.min(this.owner.options.pingTimeoutMs, Math.max(1, deadline - Date.now()))
    const started = Date.now()
    try {
      m.baseline = await this.owner.internal(() => prepareSession(this.owner.exec, conn, timeoutMs))
      m.idleLimitMs = idleLimitFromWaitTimeout(m.baseline.waitTimeoutSeconds) ?? 0
      // Our own SET raised the state-changed flag: the session is the baseline.
      m.session.dirty = false
      m.lastUsedAt = Date.now()
      events.validated(this.owner, conn, 'connect', true, started)
      return true
    } catch (err) {
      events.validated(this.owner, conn, 'connect', false, started, err)
      this.attemptFailed(err)
      this.owner.destroy(conn, this.owner.classify(err) === 'disconnect' ? 'broken' : 'ping')
      return false
    }
  }
}

/** Pings `conn`; false when it failed or took longer than `timeoutMs`. */
export function pingWithin(conn: PoolConnection, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      resolve(false)
    }, timeoutMs)
    conn.ping((err) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(!err)
    })
  })
}
