/**
 * @module
 * The two connection sources of an alias with `hosts`/`replicas`, as scopes and transactions
 * see them: the writer (whichever host is writable now) and the replicas (a healthy replica,
 * else the writer). Each connection remembers the host it came from, so releasing, destroying
 * and running statements go to that host's pool, and a statement's failure tells the topology
 * about that host.
 */
import type { PoolConnection } from 'mysql2'
import { ErrorCodes, LifespanError } from '../errors.js'
import type { AliasPool, ConnectionCallback, DestroyReason, StatementCallback } from '../pool.js'
import type { ResolvedAliasOptions } from '../options.js'
import { storage } from '../scope.js'
import { waitForToken } from './causal.js'
import type { Topology } from './topology.js'

/** Shared by both sources: everything but the choice of a host. */
abstract class RoutedSource {
  readonly alias: string
  readonly options: ResolvedAliasOptions
  protected readonly topology: Topology

  constructor(topology: Topology) {
    this.topology = topology
    this.alias = topology.options.alias
    this.options = topology.options
  }

  /** A connection within `timeoutMs` (default: the alias's `acquireTimeoutMs`), or the reason there is none. */
  abstract acquireWith(done: ConnectionCallback, timeoutMs?: number): void

  acquire(timeoutMs?: number): Promise<PoolConnection> {
    return new Promise((resolve, reject) => this.acquireWith((err, conn) => (conn ? resolve(conn) : reject(err)), timeoutMs))
  }

  release(conn: PoolConnection): void {
    this.topology.hostOf(conn)?.pool.release(conn)
  }

  destroy(conn: PoolConnection, reason: DestroyReason): void {
    this.topology.hostOf(conn)?.pool.destroy(conn, reason)
  }

  send(conn: PoolConnection, method: 'query' | 'execute', sql: unknown, values: unknown, done: StatementCallback, timeoutMs?: number): void {
    const owner = this.topology.ownerOf(conn)
    if (!owner) return done(new LifespanError(`A connection that is not one of "${this.alias}"'s was used.`, { code: ErrorCodes.DRIVER_ERROR }))
    const { host, role } = owner
    host.statements++
    if (role === 'reader') host.readsRouted++
    host.pool.send(
      conn,
      method,
      sql,
      values,
      (err, rows, fields) => {
        if (err) this.topology.observe(host, role, err)
        done(err, rows, fields)
      },
      timeoutMs,
    )
  }

  exec(conn: PoolConnection, method: 'query' | 'execute', sql: unknown, values: unknown, timeoutMs?: number): Promise<[unknown, unknown]> {
    return new Promise((resolve, reject) => this.send(conn, method, sql, values, (err, rows, fields) => (err ? reject(err) : resolve([rows, fields])), timeoutMs))
  }

  /** The failing host's pool was already made suspect when the failure was observed. */
  suspectAll(): void {}

  countRetry(): void {
    this.topology.retries++
  }

  stats(): ReturnType<Topology['stats']> {
    return this.topology.stats()
  }

  end(timeoutMs: number): Promise<number[]> {
    return this.topology.end(timeoutMs)
  }

  destroyAll(reason: DestroyReason): void {
    this.topology.destroyAll(reason)
  }

  leasedThreadIds(): number[] {
    return this.topology.leasedThreadIds()
  }

  destroyLeased(reason: DestroyReason): void {
    this.topology.destroyLeased(reason)
  }

  kill(threadIds: number[]): Promise<number> {
    return this.topology.kill(threadIds)
  }

  endAndKill(timeoutMs: number): Promise<number> {
    return this.topology.endAndKill(timeoutMs)
  }

  /** The session state of a connection, from the host pool it came from. */
  session(conn: PoolConnection): ReturnType<AliasPool['session']> {
    return this.topology.hostOf(conn)?.pool.session(conn)
  }

  /** The handshake session of a connection, from the host pool it came from. */
  baseline(conn: PoolConnection): ReturnType<AliasPool['baseline']> {
    return this.topology.hostOf(conn)?.pool.baseline(conn)
  }

  inTransaction(conn: PoolConnection): boolean {
    return this.topology.hostOf(conn)?.pool.inTransaction(conn) === true
  }

  owns(conn: PoolConnection): boolean {
    return this.topology.hostOf(conn)?.pool.owns(conn) === true
  }

  clean(conn: PoolConnection): boolean {
    return this.topology.hostOf(conn)?.pool.clean(conn) === true
  }

  /** The sum of the hosts' connection limits (for readiness). */
  get limit(): number {
    return this.topology.hosts.reduce((sum, host) => sum + host.pool.limit, 0)
  }

  /** When any host last got a connection back (for readiness). */
  get lastReleasedAt(): number {
    return Math.max(0, ...this.topology.hosts.map((host) => host.pool.lastReleasedAt))
  }

  /** A validation ping on the host the connection came from. */
  probe(conn: PoolConnection, timeoutMs: number): Promise<boolean> {
    return this.topology.hostOf(conn)?.pool.probe(conn, timeoutMs) ?? Promise.resolve(false)
  }

  /** Where this alias logs right now (every host's pool logs alike). */
  get logger(): AliasPool['logger'] {
    return (this.topology.hosts[0] as { pool: AliasPool }).pool.logger
  }

  /** The logger used when the alias has none of its own, for every host. */
  set defaultLogger(logger: AliasPool['defaultLogger']) {
    for (const host of this.topology.hosts) host.pool.defaultLogger = logger
  }

  get defaultLogger(): AliasPool['defaultLogger'] {
    return (this.topology.hosts[0] as { pool: AliasPool }).pool.defaultLogger
  }

  /** Runs the library's own work outside any caller's trace (the first host's pool context will do). */
  internal<T>(fn: () => T): T {
    return this.topology.internal(fn)
  }

  counts(): { open: number; inUse: number; waiting: number } {
    return this.topology.counts()
  }
}

/** @internal Writes, transactions and reads after a write: the host that is writable now. */
export class WriterSource extends RoutedSource {
  /**
   * A connection to the writable host within `acquireTimeoutMs`. With no writable host known it
   * asks every candidate again (coalesced) until one is or the deadline passes, then fails with
   * `ERR_LIFESPAN_NO_WRITABLE_HOST`. A host whose acquisition fails is checked again before it is
   * tried again, so a dead or demoted writer is left at once.
   */
  acquireWith(done: ConnectionCallback, timeoutMs = this.options.acquireTimeoutMs): void {
    const t = this.topology
    const deadline = Date.now() + timeoutMs
    let last: unknown
    void t.start()
    /** Waits for `work` (a re-check of the hosts), but never past the deadline. */
    const bounded = (work: Promise<unknown>, then: () => void): void => {
      let timer: NodeJS.Timeout | undefined
      const left = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))
      void Promise.race([work.catch(() => undefined), left]).then(() => {
        clearTimeout(timer)
        then()
      })
    }
    const attempt = (): void => {
      if (t.closed) return done(t.stoppedError())
      if (Date.now() >= deadline) return done(t.writer && last !== undefined ? last : t.noWritableHost(last))
      if (t.suspicion) return bounded(t.suspicion, attempt)
      const host = t.writer
      if (!host) {
        // Ask again, but never past the deadline (a host that never answers takes the probe timeout).
        bounded(t.discover(), () => {
          if (t.writer || Date.now() >= deadline) return attempt()
          setTimeout(attempt, Math.min(t.waitStepMs, Math.max(0, deadline - Date.now())))
        })
        return
      }
      // The host's own bound, cut to what is left of this acquisition.
      host.pool.acquireWith((err, conn) => {
        if (conn) {
          t.own(conn, host, 'writer')
          return done(null, conn)
        }
        last = err
        if (Date.now() >= deadline) return done(err)
        // Busy is not broken: try the same host again, without making its connections suspect.
        if (t.busy(host, err)) return attempt()
        bounded(t.writerFailed(host, err), attempt)
      }, Math.max(1, Math.min(host.pool.options.acquireTimeoutMs, deadline - Date.now())))
    }
    attempt()
  }

  /** At startup: also wait for the first probe of every host, so the first reads already find the replicas. */
  override async acquire(timeoutMs = this.options.acquireTimeoutMs): Promise<PoolConnection> {
    const deadline = Date.now() + timeoutMs
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
    await Promise.race([this.topology.start().catch(() => undefined), late])
    clearTimeout(timer)
    return super.acquire(Math.max(1, deadline - Date.now()))
  }

  /** A disconnect on the writer: its older idle connections are suspect. */
  override suspectAll(): void {
    this.topology.writer?.pool.suspectAll()
  }
}

/** @internal Plain reads of scopes that have not written: a healthy replica, else the writer. */
export class ReaderSource extends RoutedSource {
  acquireWith(done: ConnectionCallback, timeoutMs = this.options.acquireTimeoutMs): void {
    const t = this.topology
    if (t.closed) return done(t.stoppedError())
    void t.start()
    // One deadline for the replicas tried in turn and the writer after them.
    const deadline = Date.now() + timeoutMs
    const left = (bound: number): number => Math.max(1, Math.min(bound, deadline - Date.now()))
    const frame = storage.getStore()?.frame
    const token = frame ? t.tokenOf(frame) : undefined
    const candidates = t.readableReplicas()
    const toWriter = (why: string): void => {
      t.fallbackReads++
      t.logRouting(why)
      t.writerSource.acquireWith(done, left(timeoutMs))
    }
    const next = (i: number): void => {
      const host = candidates[i]
      if (!host) return toWriter(candidates.length === 0 ? 'no healthy replica' : 'every healthy replica failed')
      if (Date.now() >= deadline) return toWriter('the acquisition ran out of time on the replicas')
      host.pool.acquireWith((err, conn) => {
        if (!conn) {
          if (!t.busy(host, err)) t.replicaFailed(host, err)
          return next(i + 1)
        }
        if (token === undefined) {
          t.own(conn, host, 'reader')
          return done(null, conn)
        }
        waitForToken(host.pool, conn, token, t.causalWaitMs).then((reached) => {
          if (reached === 'reached') {
            t.own(conn, host, 'reader')
            return done(null, conn)
          }
          if (reached === 'failed') host.pool.destroy(conn, 'broken')
          else host.pool.release(conn)
          t.causalFallbacks++
          // Another replica is unlikely to be further along: the primary has the write.
          toWriter(`replica ${host.key} had not applied the causal token within ${t.causalWaitMs} ms`)
        })
      }, left(host.pool.options.acquireTimeoutMs))
    }
    next(0)
  }
}
