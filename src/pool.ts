/**
 * @module
 * One alias's pool: mysql2's pool underneath, with validation when a connection is
 * handed to a scope, a bound on the whole acquisition, connection metadata and
 * generation invalidation. Scopes never see mysql2's pool directly.
 */
import { AsyncResource } from 'node:async_hooks'
import mysql from 'mysql2'
import type { Pool, PoolConnection } from 'mysql2'
import pRetry from 'p-retry'
import { type ErrorClass } from './classify.js'
import { AcquireTimeoutError, ErrorCodes, LifespanError, describe, invalidArgument, withCode } from './errors.js'
import type { Logger, ResolvedAliasOptions } from './options.js'
import type { HostStats } from './topology/host.js'
import { Deadlines } from './deadlines.js'
import { log } from './log.js'
import { changesSchema, SessionState, tapSessionState, touchesSessionUnseen } from './connection-state.js'
import { guardTimeout, type TimeoutEnv } from './query-timeout.js'
import { killAndLog, killOnServer } from './kill.js'
import { sqlText } from './retry.js'
import { type SessionBaseline, prepareSession, resetSession, rollbackSession } from './session.js'
import { FailureLog } from './failure-log.js'
import { internal } from './observe/internal.js'
import * as events from './observe/pool-events.js'
import { scopeLogger } from './scope.js'

/** Why a connection was destroyed rather than returned to the pool. */
export type DestroyReason = 'maxAge' | 'idle' | 'ping' | 'broken' | 'timeout' | 'interrupted' | 'shutdown' | 'reset'

/** Counters of one alias, as reported by `stats()`. */
export interface AliasStats {
  /** Connections open (idle or leased). */
  open: number
  /** Open connections not leased to a scope. */
  idle: number
  /** Connections leased to scopes. */
  inUse: number
  /** Acquisitions under way (waiting for a slot, connecting or validating). */
  waiting: number
  /** Connections created since startup. */
  created: number
  /** Connections destroyed, by reason. */
  destroyed: Record<DestroyReason, number>
  /** Connections checked on entry to a scope. */
  validations: number
  /** Validation pings sent. */
  pings: number
  /** Validation pings that failed or timed out. */
  pingFailures: number
  /** Statements and transactions re-run after a disconnect, deadlock or lock-wait timeout. */
  retries: number
  /** Acquisitions that gave up after `acquireTimeoutMs`. */
  acquireTimeouts: number
  /** Connections rolled back because a scope gave them back inside a transaction. */
  rollbacks: number
  /** Sessions reset (COM_RESET_CONNECTION and the handshake's settings) because a scope changed them. */
  resets: number
  /** The most connections the alias may open (mysql2's `connectionLimit`; 0 = no limit). */
  max: number
  /** Per host (`host:port`), for an alias with `hosts` or `replicas`; the counters above are their sums. */
  hosts?: Record<string, HostStats>
}

/**
 * @internal What scopes, transactions and the lifespan use of an alias's connections: its
 * {@link AliasPool}, or for an alias with `hosts`/`replicas` a topology that routes over one
 * AliasPool per host (src/topology/).
 */
export type ConnectionSource = Pick<
  AliasPool,
  | 'alias' | 'options' | 'acquireWith' | 'acquire' | 'release' | 'destroy' | 'send' | 'exec' | 'suspectAll'
  | 'countRetry' | 'stats' | 'end' | 'endAndKill' | 'destroyAll' | 'leasedThreadIds' | 'destroyLeased' | 'kill' | 'counts'
  | 'session' | 'inTransaction' | 'owns' | 'internal' | 'limit' | 'lastReleasedAt' | 'probe' | 'logger' | 'defaultLogger'
  | 'baseline'
>

interface Meta {
  createdAt: number
  lastUsedAt: number
  /** This connection's max age, with jitter; 0 = none. */
  maxAgeMs: number
  /** Idle time after which the server has (or is about to have) closed the session; undefined until read. */
  idleLimitMs: number | undefined
  /** What the server's replies say about the session. */
  readonly session: SessionState
  /** The session after the handshake, read with the idle limit; undefined until then. */
  baseline: SessionBaseline | undefined
  /** Generation at the last validation; older than the pool's means suspect. */
  epoch: number
  /** Leased to a scope right now. */
  leased: boolean
  /** When it was leased; only kept while someone listens to connection releases. */
  leasedAt?: number
}

/** @internal Called once with a connection or with the reason there is none. */
export type ConnectionCallback = (err: unknown, conn?: PoolConnection) => void

/** @internal mysql2's statement callback. */
export type StatementCallback = (err: unknown, rows?: unknown, fields?: unknown) => void

/** One attempt ran out of the acquisition's time. An Error, because p-retry rejects anything else. */
class AttemptTimeout extends Error {}
const timedOut = (err: unknown): boolean => err instanceof AttemptTimeout
const AGE_JITTER = 0.025

/** What mysql2's pool keeps that the checkout reads (mysql2 3.x; not in its typings). */
interface MysqlPoolInternals {
  _freeConnections: { length: number }
  _allConnections: { length: number }
  _closed?: boolean
  config: { connectionLimit: number }
}

/** How long before the server's own idle limit a connection stops being trusted. */
export function idleLimitFromWaitTimeout(waitTimeoutSeconds: number): number | undefined {
  if (!Number.isFinite(waitTimeoutSeconds) || waitTimeoutSeconds <= 0) return undefined
  const ms = waitTimeoutSeconds * 1000
  const margin = Math.min(5_000, Math.max(500, ms * 0.1))
  return Math.max(0, ms - margin)
}

/** @internal Pool of one alias. */
export class AliasPool {
  readonly options: ResolvedAliasOptions
  readonly alias: string
  private readonly pool: Pool
  private readonly classify: (error: unknown) => ErrorClass
  private readonly meta = new WeakMap<PoolConnection, Meta>()
  private readonly open = new Set<PoolConnection>()
  /**
   * Connections leased to scopes: a flag in each one's metadata and a count, not a Set. A Set
   * that gains and loses a member on every scope keeps discarded tables chained to each other,
   * which kept every scope's garbage alive through young-generation GCs (see ActiveScopes).
   */
  private leasedCount = 0
  private epoch = 0
  private closed = false
  /** The last reason a connection was refused, for the cause of an acquisition timeout. */
  private lastFailure: unknown = undefined
  /**
   * The async context the pool was created in. A socket keeps the AsyncLocalStorage stores of
   * the code that opened it for as long as it lives; opening (and replacing) sockets from here
   * keeps a request's scope, and any other store of the caller, from being pinned by a pooled
   * connection for its whole life.
   */
  private readonly home = new AsyncResource('mysql-lifespan:pool')
  private waiting = 0
  private releasedAt = 0
  /** Failed connect attempts during acquisitions, logged at warn at most once a second. */
  private readonly failures = new FailureLog()
  /** When each socket checkout() asked mysql2 to open began (oldest first), for the create time. */
  private readonly creating: number[] = []
  /** Deadlines of checkouts waiting in mysql2's queue, under one timer. */
  private readonly deadlines = new Deadlines<ConnectionCallback>((done) => done(new AttemptTimeout('no connection within the acquisition deadline')))
  private readonly counters = {
    created: 0,
    destroyed: { maxAge: 0, idle: 0, ping: 0, broken: 0, timeout: 0, interrupted: 0, shutdown: 0, reset: 0 } as Record<DestroyReason, number>,
    validations: 0,
    pings: 0,
    pingFailures: 0,
    retries: 0,
    acquireTimeouts: 0,
    rollbacks: 0,
    resets: 0,
  }
  /** What {@link guardTimeout} needs: a KILL QUERY from a side connection, and a way to give up. */
  private readonly timeoutEnv: TimeoutEnv

  constructor(options: ResolvedAliasOptions, classify: (error: unknown) => ErrorClass) {
    this.options = options
    this.alias = options.alias
    this.classify = classify
    this.pool = mysql.createPool({ ...options.pool })
    this.pool.on('connection', (conn) => this.adopt(conn as PoolConnection))
    this.timeoutEnv = {
      killQuery: (threadId) => this.internal(() => killOnServer(this.options.pool, [threadId], 'QUERY')),
      destroy: (conn) => this.destroy(conn, 'timeout'),
      graceMs: options.pingTimeoutMs,
    }
  }

  /** Set by {@link Lifespan.useDefaultLogger}: used when the alias has no logger of its own. */
  defaultLogger: Logger | undefined

  /** Where this alias logs right now: its own logger, else the running scope's (adapters' request loggers), else the default. */
  get logger(): Logger | undefined {
    return this.options.logger ?? scopeLogger() ?? this.defaultLogger
  }

  /** Records a new connection. mysql2 listens for only one `'error'`; ours keeps a second from crashing the process. */
  private adopt(conn: PoolConnection): void {
    const now = Date.now()
    const { maxAgeMs } = this.options
    const session = new SessionState()
    tapSessionState(conn, session)
    this.meta.set(conn, {
      createdAt: now,
      lastUsedAt: now,
      maxAgeMs: maxAgeMs > 0 ? Math.floor(maxAgeMs * (1 - Math.random() * AGE_JITTER)) : 0,
      idleLimitMs: undefined,
      session,
      baseline: undefined,
      epoch: this.epoch,
      leased: false,
    })
    this.open.add(conn)
    this.counters.created++
    events.created(this, conn, this.creating.length > 0 ? now - (this.creating[0] as number) : undefined)
    // Either event means the server or the network closed it (our own destroy() forgets it first).
    const forget = (err?: unknown): void => {
      if (!this.open.delete(conn)) return
      this.unlease(conn)
      if (this.closed) return
      this.counters.destroyed.broken++
      events.destroyed(this, conn, 'broken', this.meta.get(conn)?.createdAt)
      this.suspectAll()
      log(this.logger, 'debug', { alias: this.alias, err: err === undefined ? 'end' : describe(err) }, 'connection closed by the server or network')
    }
    conn.on('error', (err) => forget(err))
    conn.once('end', () => forget())
  }

  /** The first disconnect makes every connection of an older generation suspect: pinged on next use. */
  suspectAll(): void {
    this.epoch++
  }

  /** Counts a re-run statement or transaction. */
  countRetry(): void {
    this.counters.retries++
  }

  /**
   * Gets a validated connection within `acquireTimeoutMs` and calls `done` once with it or with
   * the failure. Stale connections are replaced without delay; connect failures that a retry can
   * fix are retried with backoff; anything else (wrong password, unknown database) fails at once
   * with mysql2's error. The failure at the deadline is an {@link AcquireTimeoutError} with the
   * last cause. Callbacks, not promises: on Node 20 every promise also pays for AsyncLocalStorage's
   * hooks, and this runs for every scope.
   */
  acquireWith(done: ConnectionCallback, timeoutMs = this.options.acquireTimeoutMs): void {
    if (events.acquire.hasSubscribers) return events.traceAcquire(this, done, (cb) => this.acquireNow(cb, timeoutMs))
    this.acquireNow(done, timeoutMs)
  }

  private acquireNow(done: ConnectionCallback, timeoutMs: number): void {
    if (this.closed) return done(new LifespanError(`The pool of "${this.alias}" is closed.`, { code: ErrorCodes.STOPPED }))
    const deadline = Date.now() + timeoutMs
    this.waiting++
    const finish: ConnectionCallback = (err, conn) => {
      this.waiting--
      if (conn) this.markLeased(conn)
      done(err, conn)
    }
    this.attempt(deadline, (err, conn) => {
      if (conn) return finish(null, conn)
      if (!this.shouldRetryConnect(err, deadline)) return finish(this.toAcquireError(err))
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
        (c) => finish(null, c),
        (error: unknown) => finish(this.toAcquireError(timedOut(error) ? last : error)),
      )
    })
  }

  /** {@link AliasPool.acquireWith} as a promise. */
  acquire(timeoutMs?: number): Promise<PoolConnection> {
    return new Promise((resolve, reject) => this.acquireWith((err, conn) => (conn ? resolve(conn) : reject(err)), timeoutMs))
  }

  /** Pings a connection this pool handed out, from the home context; false when it failed or took longer than `timeoutMs`. */
  probe(conn: PoolConnection, timeoutMs: number): Promise<boolean> {
    return this.internal(() => this.ping(conn, timeoutMs))
  }

  /** mysql2's `connectionLimit` for this alias (0: none). */
  get limit(): number {
    return (this.pool as unknown as MysqlPoolInternals).config.connectionLimit
  }

  /** `Date.now()` when a scope last gave a healthy connection back (0: never). */
  get lastReleasedAt(): number {
    return this.releasedAt
  }

  private shouldRetryConnect(err: unknown, deadline: number): boolean {
    if (this.closed || Date.now() >= deadline) return false
    if (timedOut(err)) return false
    const cls = this.classify(err)
    return cls === 'connect-refused' || cls === 'disconnect' || cls === 'read-only'
  }

  private toAcquireError(err: unknown): unknown {
    if (this.closed) return new LifespanError(`The pool of "${this.alias}" is closed.`, { code: ErrorCodes.STOPPED, cause: err })
    const cause = timedOut(err) ? this.lastFailure : err
    const cls = cause === undefined ? 'disconnect' : this.classify(cause)
    // Errors a retry cannot fix surface as they are (mysql2's code intact).
    if (cls === 'fatal-config' || cls === 'other') return withCode(cause, cls)
    this.counters.acquireTimeouts++
    return new AcquireTimeoutError(this.alias, this.options.acquireTimeoutMs, this.counts(), cause)
  }

  /** Checks out connections until one passes validation; fails on a checkout error or at the deadline. */
  private attempt(deadline: number, done: ConnectionCallback): void {
    if (deadline <= Date.now() || this.closed) return done(new AttemptTimeout('acquisition deadline passed'))
    this.checkout(deadline, (err, conn) => {
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
    })
  }

  /** A connect (or first-read) attempt failed: remembered for the timeout's cause, published, logged at warn (rate-limited). */
  private attemptFailed(err: unknown): void {
    this.lastFailure = err
    events.attemptFailed(this, err)
    this.failures.note(this.logger, this.alias, err)
  }

  private checkout(deadline: number, done: ConnectionCallback): void {
    const mysqlPool = this.pool as unknown as MysqlPoolInternals
    // With a free connection mysql2 answers on the next tick, in our caller's context: no wait to bound.
    if (mysqlPool._freeConnections.length > 0) return this.pool.getConnection(done)
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
      caller.runInAsyncScope(done, null, err, err ? undefined : conn)
    }
    const { connectionLimit } = mysqlPool.config
    // mysql2 opens a socket right here when it may: do that from the pool's own context.
    if (connectionLimit === 0 || mysqlPool._allConnections.length < connectionLimit) {
      const since = Date.now()
      this.creating.push(since)
      this.home.runInAsyncScope(() =>
        this.pool.getConnection((err, conn) => {
          this.creating.splice(this.creating.indexOf(since), 1)
          onConnection(err, conn)
        }),
      )
    } else {
      this.pool.getConnection(onConnection)
    }
  }

  /**
   * Validation on entry: `true`, `false` (the connection was destroyed), or a promise of either
   * when a round trip is needed. Synchronous in the common case: no promise for a trusted connection.
   */
  private validate(conn: PoolConnection, deadline: number): boolean | Promise<boolean> {
    let m = this.meta.get(conn)
    if (!m) {
      // Not adopted: mysql2 emitted no 'connection' (cannot happen in 3.x); treat as new.
      this.adopt(conn)
      m = this.meta.get(conn) as Meta
    }
    this.counters.validations++
    if (m.idleLimitMs === undefined) return this.readIdleLimit(conn, m, deadline)
    const now = Date.now()
    if (m.maxAgeMs > 0 && now - m.createdAt >= m.maxAgeMs) {
      this.destroy(conn, 'maxAge')
      return false
    }
    const idle = now - m.lastUsedAt
    if (m.idleLimitMs > 0 && idle >= m.idleLimitMs) {
      // The server has closed it, or will before we are done: no point pinging.
      this.destroy(conn, 'idle')
      return false
    }
    if (m.epoch < this.epoch || (this.options.healthCheck && idle >= this.options.aliveBypassMs)) return this.pingCheck(conn, m, deadline)
    return true
  }

  private async pingCheck(conn: PoolConnection, m: Meta, deadline: number): Promise<boolean> {
    this.counters.pings++
    const started = Date.now()
    const ok = await this.internal(() => this.ping(conn, Math.min(this.options.pingTimeoutMs, Math.max(1, deadline - Date.now()))))
    events.validated(this, conn, 'ping', ok, started)
    if (!ok) {
      this.lastFailure = new LifespanError(`Validation ping failed or took longer than ${this.options.pingTimeoutMs} ms`, {
        code: ErrorCodes.PING_FAILED,
      })
      this.counters.pingFailures++
      this.destroy(conn, 'ping')
      this.suspectAll()
      return false
    }
    m.epoch = this.epoch
    return true
  }

  /**
   * A new connection: read the server's idle limit and the handshake's session settings, and turn on
   * session-state tracking (it also proves the connection works).
   */
  private async readIdleLimit(conn: PoolConnection, m: Meta, deadline: number): Promise<boolean> {
    const timeoutMs = Math.min(this.options.pingTimeoutMs, Math.max(1, deadline - Date.now()))
    const started = Date.now()
    try {
      m.baseline = await this.internal(() => prepareSession(this.exec, conn, timeoutMs))
      m.idleLimitMs = idleLimitFromWaitTimeout(m.baseline.waitTimeoutSeconds) ?? 0
      // Our own SET raised the state-changed flag: the session is the baseline.
      m.session.dirty = false
      m.lastUsedAt = Date.now()
      events.validated(this, conn, 'connect', true, started)
      return true
    } catch (err) {
      events.validated(this, conn, 'connect', false, started, err)
      this.attemptFailed(err)
      this.destroy(conn, this.classify(err) === 'disconnect' ? 'broken' : 'ping')
      return false
    }
  }

  private ping(conn: PoolConnection, timeoutMs: number): Promise<boolean> {
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

  /**
   * Runs one statement on `conn` and calls `done` with mysql2's `(err, rows, fields)`. With a
   * timeout, an expired statement is stopped on the server (see query-timeout.ts).
   */
  send(conn: PoolConnection, method: 'query' | 'execute', sql: unknown, values: unknown, done: StatementCallback, timeoutMs = this.options.queryTimeoutMs): void {
    const callback = timeoutMs > 0 ? guardTimeout(conn, sql, timeoutMs, this.timeoutEnv, done) : done
    const text = typeof sql === 'string' ? sql : sqlText(sql)
    if (text !== undefined) {
      const unseen = touchesSessionUnseen(text)
      const schema = changesSchema(text)
      const m = unseen || schema ? this.meta.get(conn) : undefined
      if (m) {
        m.session.dirty = true
        if (schema) m.session.schemaChanged = true
      }
    }
    try {
      const run = conn[method] as (sql: unknown, values: unknown, cb: StatementCallback) => void
      run.call(conn, sql, values, callback)
    } catch (err) {
      // mysql2 throws synchronously for bad arguments (no SQL, undefined bind values).
      callback(invalidArgument(`Invalid statement arguments: ${(err as Error)?.message ?? String(err)}`, err))
    }
  }

  /** {@link AliasPool.send} as a promise of `[rows, fields]`. */
  exec = (conn: PoolConnection, method: 'query' | 'execute', sql: unknown, values: unknown, timeoutMs = this.options.queryTimeoutMs): Promise<[unknown, unknown]> =>
    new Promise((resolve, reject) => this.send(conn, method, sql, values, (err, rows, fields) => (err ? reject(err) : resolve([rows, fields])), timeoutMs))

  /** Whether the server's last reply on `conn` said it is inside a transaction (or autocommit is off). */
  inTransaction(conn: PoolConnection): boolean {
    return this.meta.get(conn)?.session.inTransaction === true
  }

  /** What the server's replies say about `conn`'s session (live: it changes with every reply). */
  session(conn: PoolConnection): SessionState | undefined {
    return this.meta.get(conn)?.session
  }

  /** The session `conn` had after its handshake (what a reset restores); undefined before its first use. */
  baseline(conn: PoolConnection): SessionBaseline | undefined {
    return this.meta.get(conn)?.baseline
  }

  /** Whether `conn` is still one of this pool's open connections (not destroyed, not closed by the server). */
  owns(conn: PoolConnection): boolean {
    return this.open.has(conn)
  }

  private markLeased(conn: PoolConnection): void {
    const m = this.meta.get(conn)
    if (!m || m.leased) return
    m.leased = true
    this.leasedCount++
    if (events.release.hasSubscribers) m.leasedAt = Date.now()
  }

  /** Clears the leased flag; the connection's metadata, or undefined when it was not leased. */
  private unlease(conn: PoolConnection): Meta | undefined {
    const m = this.meta.get(conn)
    if (!m?.leased) return undefined
    m.leased = false
    this.leasedCount--
    if (m.leasedAt !== undefined) events.released(this, conn, m)
    return m
  }

  private leasedConnections(): PoolConnection[] {
    return [...this.open].filter((conn) => this.meta.get(conn)?.leased === true)
  }

  /**
   * Returns a healthy connection to the pool, clean: a transaction left open is rolled back, a
   * changed session is reset to its baseline first (the connection stays leased meanwhile). A clean
   * connection goes back at once, with no round trip.
   */
  release(conn: PoolConnection): void {
    const m = this.meta.get(conn)
    if (!m?.leased) return
    if (!this.closed && this.open.has(conn) && needsCleaning(m)) {
      this.internal(() => this.clean(conn, m)).then(
        () => this.giveBack(conn),
        (err: unknown) => {
          log(this.logger, 'debug', { alias: this.alias, err: describe(err) }, 'could not clean a connection; destroyed')
          this.destroy(conn, 'reset')
        },
      )
      return
    }
    this.giveBack(conn)
  }

  private giveBack(conn: PoolConnection): void {
    const m = this.unlease(conn)
    if (!m) return
    m.lastUsedAt = this.releasedAt = Date.now()
    if (this.closed || !this.open.has(conn)) return
    conn.release()
  }

  private async clean(conn: PoolConnection, m: Meta): Promise<void> {
    // A ROLLBACK of a large transaction takes a while; past this the server rolls back on disconnect.
    const timeoutMs = Math.max(5_000, 5 * this.options.pingTimeoutMs)
    const baseline = m.baseline as SessionBaseline
    if (m.session.dirty || !baseline.tracked) {
      this.counters.resets++
      await resetSession(this.exec, conn, baseline, m.session.schemaChanged, timeoutMs)
    } else {
      this.counters.rollbacks++
      await rollbackSession(this.exec, conn, timeoutMs)
    }
    if (m.session.inTransaction) throw new LifespanError('still inside a transaction after cleaning', { code: ErrorCodes.DRIVER_ERROR })
    m.session.dirty = false
    m.session.schemaChanged = false
  }

  /** Destroys a connection (socket closed, slot freed for the next waiter). Safe to call twice. */
  destroy(conn: PoolConnection, reason: DestroyReason): void {
    this.unlease(conn)
    if (this.open.delete(conn)) {
      this.counters.destroyed[reason]++
      events.destroyed(this, conn, reason, this.meta.get(conn)?.createdAt)
      log(this.logger, 'debug', { alias: this.alias, reason, threadId: conn.threadId }, 'connection destroyed')
    }
    // Removing a connection lets mysql2 open a new one for a queued waiter: from the pool's context.
    this.home.runInAsyncScope(() => {
      conn.destroy()
      // mysql2's destroy() only half-closes (FIN) and waits for the server, which a dead path or a
      // server busy with a long statement does not answer: close the socket for real.
      ;(conn as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.()
    })
  }

  /**
   * Runs the library's own work (connect-time reads, validation, KILL) in the pool's home context,
   * so it never shows up in the trace (or any AsyncLocalStorage store) of the scope it serves.
   */
  internal<T>(fn: () => T): T {
    return this.home.runInAsyncScope(internal, null, fn) as T
  }

  /** Server-side ids of connections leased to scopes right now. */
  leasedThreadIds(): number[] {
    return threadIds(this.leasedConnections())
  }

  /**
   * Kills these connections server-side (`KILL CONNECTION` from a short-lived side connection) and
   * logs it; resolves to how many the server killed.
   */
  kill(threadIds: number[]): Promise<number> {
    return this.internal(() => killAndLog(this, threadIds))
  }

  /** {@link AliasPool.end}, then kills server-side what did not close in time; resolves to how many were killed. */
  async endAndKill(timeoutMs: number): Promise<number> {
    const left = await this.end(timeoutMs)
    return left.length > 0 ? this.kill(left) : 0
  }

  /** Destroys every leased connection (after they were killed server-side at a shutdown deadline). */
  destroyLeased(reason: DestroyReason): void {
    for (const conn of this.leasedConnections()) this.destroy(conn, reason)
  }

  /**
   * Ends every connection with COM_QUIT, waiting at most `timeoutMs`; whatever has not
   * closed by then is destroyed. Returns the thread ids that had to be destroyed.
   */
  async end(timeoutMs: number): Promise<number[]> {
    if (this.closed) return []
    this.closed = true
    const ended = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.pool.end(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
    // mysql2 calls back once every COM_QUIT went out; only a timeout leaves connections behind.
    const left = ended ? [] : threadIds(this.open)
    this.destroyAll('shutdown')
    return left
  }

  /** Abrupt: closes every socket now. */
  destroyAll(reason: DestroyReason): void {
    this.closed = true
    for (const conn of [...this.open]) this.destroy(conn, reason)
    // mysql2 marks itself closed and fails queued getConnection callbacks.
    if (!(this.pool as unknown as MysqlPoolInternals)._closed) this.pool.end(() => {})
  }

  /** Open, in use and waiting counts (for error messages). */
  counts(): { open: number; inUse: number; waiting: number } {
    return { open: this.open.size, inUse: this.leasedCount, waiting: this.waiting }
  }

  /** A snapshot of this alias's counters. */
  stats(): AliasStats {
    const c = this.counters
    return {
      open: this.open.size,
      idle: this.open.size - this.leasedCount,
      inUse: this.leasedCount,
      waiting: this.waiting,
      created: c.created,
      destroyed: { ...c.destroyed },
      validations: c.validations,
      pings: c.pings,
      pingFailures: c.pingFailures,
      retries: c.retries,
      acquireTimeouts: c.acquireTimeouts,
      rollbacks: c.rollbacks,
      resets: c.resets,
      max: this.limit,
    }
  }
}

/** A connection goes back to the pool only outside a transaction and with its baseline session. */
function needsCleaning(m: Meta): boolean {
  if (m.baseline === undefined) return false
  return m.session.inTransaction || m.session.dirty || !m.baseline.tracked
}

function threadIds(connections: Iterable<PoolConnection>): number[] {
  return [...connections].map((c) => c.threadId).filter((id): id is number => typeof id === 'number')
}
