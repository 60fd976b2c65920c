/**
 * @module
 * One alias's pool: mysql2's pool underneath, what is known of each connection (age, idle time,
 * session state, generation), clean release, destroy and end. The checkout (acquisition and
 * validation on entry) is in checkout.ts. Scopes never see mysql2's pool directly.
 */
import { AsyncResource } from 'node:async_hooks'
import mysql from 'mysql2'
import type { Pool, PoolConnection } from 'mysql2'
import { Checkout, pingWithin } from './checkout.js'
import { type ErrorClass } from './classify.js'
import { closeNow } from './close-now.js'
import { closedInFlight, describe, invalidArgument } from './errors.js'
import type { Logger, ResolvedAliasOptions } from './options.js'
import { log } from './log.js'
import {
  type AliasStats,
  type ConnectionCallback,
  type ConnectionMeta,
  type DestroyReason,
  type MysqlPoolInternals,
  type StatementCallback,
  needsCleaning,
  threadIds,
} from './pool-types.js'
import { newMeta, readMeta } from './connection-meta.js'
import { changesSchema, type SessionState, touchesSessionUnseen } from './connection-state.js'
import { guardTimeout, type TimeoutEnv } from './query-timeout.js'
import { QueryKiller, killAndLog } from './kill.js'
import { isOptionsObject, queryWithOptions } from './query-command.js'
import { sqlText } from './retry.js'
import { cleanSession, type SessionBaseline } from './session.js'
import { internal } from './observe/internal.js'
import * as events from './observe/pool-events.js'
import { scopeLogger } from './scope.js'

export type { AliasStats, ConnectionCallback, DestroyReason, StatementCallback } from './pool-types.js'
export { idleLimitFromWaitTimeout } from './pool-types.js'

/**
 * @internal What scopes, transactions and the lifespan use of an alias's connections: its
 * {@link AliasPool}, or for an alias with `hosts`/`replicas` a topology that routes over one
 * AliasPool per host (src/topology/).
 */
export type ConnectionSource = Pick<
  AliasPool,
  | 'alias' | 'options' | 'acquireWith' | 'acquire' | 'release' | 'destroy' | 'send' | 'exec' | 'suspectAll'
  | 'countRetry' | 'stats' | 'end' | 'endAndKill' | 'destroyAll' | 'leasedThreadIds' | 'destroyLeased' | 'kill' | 'counts'
  | 'session' | 'inTransaction' | 'owns' | 'clean' | 'internal' | 'limit' | 'lastReleasedAt' | 'probe' | 'logger' | 'defaultLogger'
  | 'baseline'
>

/** @internal Pool of one alias. */
export class AliasPool {
  readonly options: ResolvedAliasOptions
  readonly alias: string
  private readonly pool: Pool
  /** @internal */
  readonly classify: (error: unknown) => ErrorClass
  private readonly open = new Set<PoolConnection>()
  /**
   * Connections leased to scopes: a flag in each one's metadata and a count, not a Set. A Set
   * that gains and loses a member on every scope keeps discarded tables chained to each other,
   * which kept every scope's garbage alive through young-generation GCs (see ActiveScopes).
   */
  private leasedCount = 0
  /** @internal The generation: a connection validated in an older one is suspect (pinged on entry). */
  epoch = 0
  /** @internal No connection is handed out any more (shutdown or destroy). */
  closed = false
  /**
   * The async context the pool was created in. A socket keeps the AsyncLocalStorage stores of
   * the code that opened it for as long as it lives; opening (and replacing) sockets from here
   * keeps a request's scope, and any other store of the caller, from being pinned by a pooled
   * connection for its whole life.
   */
  readonly home = new AsyncResource('mysql-lifespan:pool')
  private releasedAt = 0
  /** Acquisition and validation on entry. */
  private readonly checkout: Checkout
  private readonly counters = {
    created: 0,
    destroyed: { maxAge: 0, idle: 0, ping: 0, broken: 0, timeout: 0, interrupted: 0, shutdown: 0, reset: 0 } as Record<DestroyReason, number>,
    retries: 0,
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
    this.checkout = new Checkout(this, this.pool)
    const killer = new QueryKiller(options.pool)
    this.timeoutEnv = {
      killQuery: (threadId) => this.internal(() => killer.kill(threadId)),
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
  private adopt(conn: PoolConnection): ConnectionMeta {
    const m = newMeta(this, conn, this.options.maxAgeMs, this.epoch)
    this.open.add(conn)
    this.counters.created++
    const creating = this.checkout.creating
    events.created(this, conn, creating.length > 0 ? m.createdAt - (creating[0] as number) : undefined)
    // Either event means the server or the network closed it (our own destroy() forgets it first).
    const forget = (err?: unknown): void => {
      if (!this.open.delete(conn)) return
      this.unlease(conn)
      if (this.closed) return
      this.counters.destroyed.broken++
      events.destroyed(this, conn, 'broken', readMeta(this, conn)?.createdAt)
      this.suspectAll()
      log(this.logger, 'debug', { alias: this.alias, err: err === undefined ? 'end' : describe(err) }, 'connection closed by the server or network')
    }
    conn.on('error', (err) => forget(err))
    conn.once('end', () => forget())
    return m
  }

  /** @internal What is known of `conn` (adopted now if mysql2 emitted no 'connection' for it, which 3.x always does). */
  metaOf(conn: PoolConnection): ConnectionMeta {
    return readMeta(this, conn) ?? this.adopt(conn)
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
   * Gets a validated connection within `acquireTimeoutMs` (or `timeoutMs`) and calls `done` once
   * with it or with the failure (see checkout.ts).
   */
  acquireWith(done: ConnectionCallback, timeoutMs = this.options.acquireTimeoutMs): void {
    this.checkout.acquireWith(done, timeoutMs)
  }

  /** {@link AliasPool.acquireWith} as a promise. */
  acquire(timeoutMs?: number): Promise<PoolConnection> {
    return new Promise((resolve, reject) => this.acquireWith((err, conn) => (conn ? resolve(conn) : reject(err)), timeoutMs))
  }

  /** Pings a connection this pool handed out, from the home context; false when it failed or took longer than `timeoutMs`. */
  probe(conn: PoolConnection, timeoutMs: number): Promise<boolean> {
    return this.internal(() => pingWithin(conn, timeoutMs))
  }

  /** mysql2's `connectionLimit` for this alias (0: none). */
  get limit(): number {
    return (this.pool as unknown as MysqlPoolInternals).config.connectionLimit
  }

  /** `Date.now()` when a scope last gave a healthy connection back (0: never). */
  get lastReleasedAt(): number {
    return this.releasedAt
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
      const m = unseen || schema ? readMeta(this, conn) : undefined
      if (m) {
        m.session.dirty = true
        if (schema) m.session.schemaChanged = true
      }
    }
    try {
      if (method === 'query' && isOptionsObject(sql)) {
        queryWithOptions(conn, sql, values, callback)
      } else {
        const run = conn[method] as (sql: unknown, values: unknown, cb: StatementCallback) => void
        run.call(conn, sql, values, callback)
      }
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
    return readMeta(this, conn)?.session.inTransaction === true
  }

  /** What the server's replies say about `conn`'s session (live: it changes with every reply). */
  session(conn: PoolConnection): SessionState | undefined {
    return readMeta(this, conn)?.session
  }

  /** The session `conn` had after its handshake (what a reset restores); undefined before its first use. */
  baseline(conn: PoolConnection): SessionBaseline | undefined {
    return readMeta(this, conn)?.baseline
  }

  /** Whether `conn` is still one of this pool's open connections (not destroyed, not closed by the server). */
  owns(conn: PoolConnection): boolean {
    return this.open.has(conn)
  }

  /** Whether `conn` may go on to other work as it is: open, validated, and nothing for {@link AliasPool.release} to clean. */
  clean(conn: PoolConnection): boolean {
    const m = readMeta(this, conn)
    return m?.baseline !== undefined && this.open.has(conn) && !needsCleaning(m)
  }

  /** @internal Marks a connection the checkout hands out as leased. */
  markLeased(conn: PoolConnection): void {
    const m = readMeta(this, conn)
    if (!m || m.leased) return
    m.leased = true
    this.leasedCount++
    if (events.release.hasSubscribers) m.leasedAt = Date.now()
  }

  /** Clears the leased flag; the connection's metadata, or undefined when it was not leased. */
  private unlease(conn: PoolConnection): ConnectionMeta | undefined {
    const m = readMeta(this, conn)
    if (!m?.leased) return undefined
    m.leased = false
    this.leasedCount--
    if (m.leasedAt !== undefined) events.released(this, conn, m)
    return m
  }

  private leasedConnections(): PoolConnection[] {
    return [...this.open].filter((conn) => readMeta(this, conn)?.leased === true)
  }

  /**
   * Returns a healthy connection to the pool, clean: a transaction left open is rolled back, a
   * changed session is reset to its baseline first (the connection stays leased meanwhile). A clean
   * connection goes back at once, with no round trip.
   */
  release(conn: PoolConnection): void {
    const m = readMeta(this, conn)
    if (!m?.leased) return
    if (!this.closed && this.open.has(conn) && needsCleaning(m)) {
      this.internal(() => cleanSession(this.exec, conn, m, this.options.pingTimeoutMs, this.counters)).then(
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

  /** Destroys a connection (socket closed, slot freed for the next waiter). Safe to call twice. */
  destroy(conn: PoolConnection, reason: DestroyReason): void {
    this.unlease(conn)
    if (this.open.delete(conn)) {
      this.counters.destroyed[reason]++
      events.destroyed(this, conn, reason, readMeta(this, conn)?.createdAt)
      log(this.logger, 'debug', { alias: this.alias, reason, threadId: conn.threadId }, 'connection destroyed')
    }
    // Removing a connection lets mysql2 open a new one for a queued waiter: from the pool's context.
    // The statements still in flight or queued on it get an error; their callers would wait for ever.
    this.home.runInAsyncScope(() => closeNow(conn, closedInFlight(reason)))
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
    return { open: this.open.size, inUse: this.leasedCount, waiting: this.checkout.waiting }
  }

  /** A snapshot of this alias's counters. */
  stats(): AliasStats {
    const c = this.counters
    const v = this.checkout.counters
    return {
      open: this.open.size,
      idle: this.open.size - this.leasedCount,
      inUse: this.leasedCount,
      waiting: this.checkout.waiting,
      created: c.created,
      destroyed: { ...c.destroyed },
      validations: v.validations,
      pings: v.pings,
      pingFailures: v.pingFailures,
      retries: c.retries,
      acquireTimeouts: v.acquireTimeouts,
      rollbacks: c.rollbacks,
      resets: c.resets,
      max: this.limit,
    }
  }
}

