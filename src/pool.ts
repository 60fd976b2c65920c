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
import { killConnections } from './kill.js'

/** Why a connection was destroyed rather than returned to the pool. */
export type DestroyReason = 'maxAge' | 'idle' | 'ping' | 'broken' | 'timeout' | 'interrupted' | 'shutdown'

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
  | 'countRetry' | 'stats' | 'end' | 'destroyAll' | 'leasedThreadIds' | 'destroyLeased' | 'kill' | 'counts'
>

interface Meta {
  createdAt: number
  lastUsedAt: number
  /** This connection's max age, with jitter; 0 = none. */
  maxAgeMs: number
  /** Idle time after which the server has (or is about to have) closed the session; undefined until read. */
  idleLimitMs: number | undefined
  /** Generation at the last validation; older than the pool's means suspect. */
  epoch: number
  /** Leased to a scope right now. */
  leased: boolean
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
  /** Deadlines of checkouts waiting in mysql2's queue, under one timer. */
  private readonly deadlines = new Deadlines<ConnectionCallback>((done) => done(new AttemptTimeout('no connection within the acquisition deadline')))
  private readonly counters = {
    created: 0,
    destroyed: { maxAge: 0, idle: 0, ping: 0, broken: 0, timeout: 0, interrupted: 0, shutdown: 0 } as Record<DestroyReason, number>,
    validations: 0,
    pings: 0,
    pingFailures: 0,
    retries: 0,
    acquireTimeouts: 0,
  }

  constructor(options: ResolvedAliasOptions, classify: (error: unknown) => ErrorClass) {
    this.options = options
    this.alias = options.alias
    this.classify = classify
    this.pool = mysql.createPool({ ...options.pool })
    this.pool.on('connection', (conn) => this.adopt(conn as PoolConnection))
  }

  private get logger(): Logger | undefined {
    return this.options.logger
  }

  /** Records a new connection. mysql2 listens for only one `'error'`; ours keeps a second from crashing the process. */
  private adopt(conn: PoolConnection): void {
    const now = Date.now()
    const { maxAgeMs } = this.options
    this.meta.set(conn, {
      createdAt: now,
      lastUsedAt: now,
      maxAgeMs: maxAgeMs > 0 ? Math.floor(maxAgeMs * (1 - Math.random() * AGE_JITTER)) : 0,
      idleLimitMs: undefined,
      epoch: this.epoch,
      leased: false,
    })
    this.open.add(conn)
    this.counters.created++
    // Either event means the server or the network closed it (our own destroy() forgets it first).
    const forget = (err?: unknown): void => {
      if (!this.open.delete(conn)) return
      this.unlease(conn)
      if (this.closed) return
      this.counters.destroyed.broken++
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
  acquireWith(done: ConnectionCallback): void {
    if (this.closed) return done(new LifespanError(`The pool of "${this.alias}" is closed.`, { code: ErrorCodes.STOPPED }))
    const deadline = Date.now() + this.options.acquireTimeoutMs
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
  acquire(): Promise<PoolConnection> {
    return new Promise((resolve, reject) => this.acquireWith((err, conn) => (conn ? resolve(conn) : reject(err))))
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
      if (!conn) return done(err)
      const valid = this.validate(conn, deadline)
      if (valid === true) return done(null, conn)
      if (valid === false) return this.attempt(deadline, done)
      valid.then(
        (ok) => (ok ? done(null, conn) : this.attempt(deadline, done)),
        (e: unknown) => done(e),
      )
    })
  }

  private checkout(deadline: number, done: ConnectionCallback): void {
    const mysqlPool = this.pool as unknown as MysqlPoolInternals
    // With a free connection mysql2 answers on the next tick: no wait to bound.
    if (mysqlPool._freeConnections.length > 0) return this.pool.getConnection(done)
    const wait = this.deadlines.start(deadline, done)
    const onConnection = (err: NodeJS.ErrnoException | null, conn: PoolConnection): void => {
      if (!this.deadlines.end(wait)) {
        // Arrived after we gave up: hand it back so the slot is not lost.
        if (conn) conn.release()
        return
      }
      done(err, err ? undefined : conn)
    }
    const { connectionLimit } = mysqlPool.config
    // mysql2 opens a socket right here when it may: do that from the pool's own context.
    if (connectionLimit === 0 || mysqlPool._allConnections.length < connectionLimit) {
      this.home.runInAsyncScope(() => this.pool.getConnection(onConnection))
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
    const ok = await this.ping(conn, Math.min(this.options.pingTimeoutMs, Math.max(1, deadline - Date.now())))
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

  /** A new connection: read the server's idle limit for this session (it also proves the connection works). */
  private async readIdleLimit(conn: PoolConnection, m: Meta, deadline: number): Promise<boolean> {
    const timeoutMs = Math.min(this.options.pingTimeoutMs, Math.max(1, deadline - Date.now()))
    try {
      const [rows] = await this.exec(conn, 'query', 'SELECT @@session.wait_timeout AS w', undefined, timeoutMs)
      const w = Number((rows as Array<{ w: unknown }>)[0]?.w)
      m.idleLimitMs = idleLimitFromWaitTimeout(w) ?? 0
      m.lastUsedAt = Date.now()
      return true
    } catch (err) {
      this.lastFailure = err
      log(this.logger, 'debug', { alias: this.alias, err: describe(err) }, 'new connection failed its first query')
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
   * timeout, an expired statement destroys the connection (mysql2's own `timeout` leaves it
   * wedged) and fails with `ERR_LIFESPAN_QUERY_TIMEOUT`; a later reply is then ignored.
   */
  send(conn: PoolConnection, method: 'query' | 'execute', sql: unknown, values: unknown, done: StatementCallback, timeoutMs = this.options.queryTimeoutMs): void {
    let callback = done
    if (timeoutMs > 0) {
      let settled = false
      const timer = setTimeout(() => {
        settled = true
        this.destroy(conn, 'timeout')
        done(new LifespanError(`Statement exceeded queryTimeoutMs (${timeoutMs} ms); its connection was destroyed.`, { code: ErrorCodes.QUERY_TIMEOUT }))
      }, timeoutMs)
      callback = (err, rows, fields) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        done(err, rows, fields)
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
  exec(conn: PoolConnection, method: 'query' | 'execute', sql: unknown, values: unknown, timeoutMs = this.options.queryTimeoutMs): Promise<[unknown, unknown]> {
    return new Promise((resolve, reject) => this.send(conn, method, sql, values, (err, rows, fields) => (err ? reject(err) : resolve([rows, fields])), timeoutMs))
  }

  private markLeased(conn: PoolConnection): void {
    const m = this.meta.get(conn)
    if (!m || m.leased) return
    m.leased = true
    this.leasedCount++
  }

  /** Clears the leased flag; the connection's metadata, or undefined when it was not leased. */
  private unlease(conn: PoolConnection): Meta | undefined {
    const m = this.meta.get(conn)
    if (!m?.leased) return undefined
    m.leased = false
    this.leasedCount--
    return m
  }

  private leasedConnections(): PoolConnection[] {
    return [...this.open].filter((conn) => this.meta.get(conn)?.leased === true)
  }

  /** Returns a healthy connection to the pool. */
  release(conn: PoolConnection): void {
    const m = this.unlease(conn)
    if (!m) return
    m.lastUsedAt = Date.now()
    if (this.closed || !this.open.has(conn)) return
    conn.release()
  }

  /** Destroys a connection (socket closed, slot freed for the next waiter). Safe to call twice. */
  destroy(conn: PoolConnection, reason: DestroyReason): void {
    this.unlease(conn)
    if (this.open.delete(conn)) {
      this.counters.destroyed[reason]++
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

  /** Server-side ids of connections leased to scopes right now. */
  leasedThreadIds(): number[] {
    return threadIds(this.leasedConnections())
  }

  /** Kills these connections server-side (`KILL CONNECTION` from a short-lived side connection). */
  kill(threadIds: number[]): Promise<void> {
    return killConnections(this.options.pool, threadIds)
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
    }
  }
}

function threadIds(connections: Iterable<PoolConnection>): number[] {
  return [...connections].map((c) => c.threadId).filter((id): id is number => typeof id === 'number')
}
