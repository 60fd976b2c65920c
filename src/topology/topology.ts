/**
 * @module
 * An alias with `hosts` and/or `replicas`: one {@link Host} (pool + probe) per distinct address,
 * the routing of each statement from its scope's state, what a failed statement says about its
 * host, and the alias-wide stats and shutdown. Which host is writable or healthy now is the
 * {@link HealthMonitor}'s answer.
 */
import type { PoolConnection } from 'mysql2'
import type { ErrorClass } from '../classify.js'
import type { StatementRouter } from '../database.js'
import { ErrorCodes, LifespanError, describe } from '../errors.js'
import { log } from '../log.js'
import type { ResolvedAliasOptions, ResolvedTopology } from '../options.js'
import type { AliasStats, ConnectionSource, DestroyReason } from '../pool.js'
import { isReadStatement } from '../retry.js'
import type { Frame } from '../scope.js'
import { addressKey } from './addresses.js'
import { Host, type HostRole, type HostStats } from './host.js'
import { HealthMonitor } from './monitor.js'
import { ReaderSource, WriterSource } from './sources.js'

/** What routing knows about one scope on this alias. */
interface ScopeRoute {
  /** The scope wrote (or opened a transaction, or ran anything but a plain read): its reads go to the writer. */
  wrote: boolean
  /** The scope has read from the replicas already. */
  read: boolean
  /** Causal token: replica reads wait for it. */
  token: string | undefined
}

/** The per-host counters an alias's own counters add up. */
const SUMMED = ['open', 'idle', 'inUse', 'waiting', 'created', 'validations', 'pings', 'pingFailures', 'acquireTimeouts', 'rollbacks', 'resets', 'max'] as const

/** @internal */
export class Topology implements StatementRouter {
  readonly options: ResolvedAliasOptions
  readonly hosts: readonly Host[]
  readonly candidates: readonly Host[]
  readonly replicas: readonly Host[]
  readonly writerSource: WriterSource
  readonly readerSource: ReaderSource | undefined
  readonly classify: (error: unknown) => ErrorClass
  /** How long a replica read waits for a causal token before going to the writer. */
  readonly causalWaitMs: number
  /** Pause between two rounds of asking for a writable host while there is none. */
  readonly waitStepMs = 100
  readonly monitor: HealthMonitor
  retries = 0
  fallbackReads = 0
  causalFallbacks = 0
  readonly #owners = new WeakMap<PoolConnection, { host: Host; role: 'writer' | 'reader' }>()
  readonly #scopes = new WeakMap<Frame, ScopeRoute>()
  #next = 0
  #lastRouting: string | undefined
  /** What {@link Topology.leasedThreadIds} read last, per host. */
  #leasedAtRead = new Map<Host, number[]>()

  constructor(options: ResolvedAliasOptions, topology: ResolvedTopology, classify: (error: unknown) => ErrorClass) {
    this.options = options
    this.classify = classify
    this.causalWaitMs = Math.min(options.maxReplicaLagMs, 2_000)
    const hostAcquireMs = Math.min(options.acquireTimeoutMs, Math.max(1_000, options.pingTimeoutMs))
    const byKey = new Map<string, Host>()
    const hostFor = (address: { host: string; port: number }): Host => {
      const key = addressKey(address)
      let host = byKey.get(key)
      if (!host) {
        host = new Host(address, options, classify, hostAcquireMs)
        byKey.set(key, host)
      }
      return host
    }
    this.candidates = topology.writers.map((a) => {
      const h = hostFor(a)
      h.candidate = true
      return h
    })
    this.replicas = topology.replicas.map((a) => {
      const h = hostFor(a)
      h.replica = true
      return h
    })
    this.hosts = [...byKey.values()]
    this.monitor = new HealthMonitor(options, this.candidates, this.replicas)
    this.writerSource = new WriterSource(this)
    this.readerSource = this.replicas.length > 0 ? new ReaderSource(this) : undefined
  }

  get alias(): string {
    return this.options.alias
  }

  /** The host that takes the writes now. */
  get writer(): Host | undefined {
    return this.monitor.writer
  }

  get closed(): boolean {
    return this.monitor.closed
  }

  /** Set while a failure on the writer is being checked. */
  get suspicion(): Promise<void> | undefined {
    return this.monitor.suspicion
  }

  /** Starts the background probe on first use; resolves when its first round is over. */
  start(): Promise<void> {
    return this.monitor.start()
  }

  /** Asks every candidate whether it is writable now (coalesced). */
  discover(): Promise<void> {
    return this.monitor.discover()
  }

  // --- routing (StatementRouter) ---

  #route(frame: Frame): ScopeRoute {
    let route = this.#scopes.get(frame)
    if (!route) {
      route = { wrote: false, read: false, token: undefined }
      this.#scopes.set(frame, route)
    }
    return route
  }

  forStatement(frame: Frame, sql: unknown): ConnectionSource {
    const route = this.#route(frame)
    if (this.readerSource && !route.wrote && isReadStatement(sql)) {
      route.read = true
      return this.readerSource
    }
    // Anything but a plain read may write or change session state: from now on this scope reads its own writes.
    route.wrote = true
    return this.writerSource
  }

  forTransaction(frame: Frame): ConnectionSource {
    this.#route(frame).wrote = true
    return this.writerSource
  }

  after(frame: Frame, token: string): void {
    const route = this.#route(frame)
    route.token = token
    // The scope's replica connection was chosen without waiting: read from the writer from now on.
    if (route.read) route.wrote = true
  }

  tokenOf(frame: Frame): string | undefined {
    return this.#scopes.get(frame)?.token
  }

  // --- connections and their hosts ---

  own(conn: PoolConnection, host: Host, role: 'writer' | 'reader'): void {
    this.#owners.set(conn, { host, role })
  }

  ownerOf(conn: PoolConnection): { host: Host; role: 'writer' | 'reader' } | undefined {
    return this.#owners.get(conn)
  }

  hostOf(conn: PoolConnection): Host | undefined {
    return this.#owners.get(conn)?.host
  }

  /** Healthy replicas, rotated so reads spread round-robin. */
  readableReplicas(): Host[] {
    const ok = this.replicas.filter((h) => h.readable && h !== this.writer)
    if (ok.length < 2) return ok
    const start = this.#next++ % ok.length
    return [...ok.slice(start), ...ok.slice(0, start)]
  }

  /** A statement failed on `host`: what that says about the host. */
  observe(host: Host, role: 'writer' | 'reader', err: unknown): void {
    const cls = this.classify(err)
    if (role === 'reader') {
      if (cls === 'disconnect' || cls === 'read-only' || cls === 'connect-refused') this.replicaFailed(host, err)
      return
    }
    // Refused, not applied: this host takes no writes now; find the writer.
    if (cls === 'read-only') this.monitor.refused(host, err)
    else if (cls === 'disconnect') {
      host.pool.suspectAll()
      // A killed connection or a dead host: ask every candidate whether it is (still) writable.
      void this.monitor.suspect()
    }
  }

  /**
   * The acquisition on `host` timed out because every connection was in use: the host is busy, not
   * broken. (A host's acquisition is bounded at about a second, so under load this happens.)
   */
  busy(host: Host, err: unknown): boolean {
    if ((err as { code?: unknown } | null)?.code !== ErrorCodes.ACQUIRE_TIMEOUT) return false
    return host.pool.counts().inUse >= (this.options.pool.connectionLimit ?? 10)
  }

  /** Acquiring from the writer failed: leave it unless it still says it is writable. */
  async writerFailed(host: Host, err: unknown): Promise<void> {
    host.lastProblem = describe(err)
    host.pool.suspectAll()
    await this.monitor.suspect()
  }

  replicaFailed(host: Host, err: unknown): void {
    this.monitor.replicaFailed(host, err)
  }

  /** Logs where reads went when they could not go to a replica (once per change of reason). */
  logRouting(why: string): void {
    if (this.#lastRouting === why) return
    this.#lastRouting = why
    log(this.options.logger, 'debug', { alias: this.alias, reason: why }, `reads of "${this.alias}" go to the writer: ${why}`)
  }

  // --- errors, stats, shutdown ---

  noWritableHost(cause: unknown): LifespanError {
    const states = this.candidates.map((h) => `${h.key} ${h.writerState}${h.lastProblem ? ` (${h.lastProblem})` : ''}`).join(', ')
    return new LifespanError(`No writable host for "${this.alias}" within ${this.options.acquireTimeoutMs} ms: ${states}.`, {
      code: ErrorCodes.NO_WRITABLE_HOST,
      cause,
    })
  }

  stoppedError(): LifespanError {
    return new LifespanError(`The pool of "${this.alias}" is closed.`, { code: ErrorCodes.STOPPED })
  }

  #role(host: Host): HostRole {
    if (host === this.writer) return 'writer'
    return host.replica ? 'replica' : 'candidate'
  }

  stats(): AliasStats {
    const hosts: Record<string, HostStats> = {}
    const sum: AliasStats = {
      open: 0, idle: 0, inUse: 0, waiting: 0, created: 0,
      destroyed: { maxAge: 0, idle: 0, ping: 0, broken: 0, timeout: 0, interrupted: 0, shutdown: 0, reset: 0 },
      validations: 0, pings: 0, pingFailures: 0, retries: this.retries, acquireTimeouts: 0, rollbacks: 0, resets: 0, max: 0,
    }
    for (const host of this.hosts) {
      const s = host.stats(this.#role(host))
      hosts[host.key] = s
      for (const key of SUMMED) sum[key] += s[key]
      for (const reason of Object.keys(sum.destroyed) as DestroyReason[]) sum.destroyed[reason] += s.destroyed[reason]
    }
    return { ...sum, hosts }
  }

  counts(): { open: number; inUse: number; waiting: number } {
    const c = { open: 0, inUse: 0, waiting: 0 }
    for (const host of this.hosts) {
      const h = host.pool.counts()
      c.open += h.open
      c.inUse += h.inUse
      c.waiting += h.waiting
    }
    return c
  }

  #stopProbes(): void {
    this.monitor.stop()
    for (const host of this.hosts) host.probe.close()
  }

  /** Stops the probes and ends every host's pool; returns the ids that did not close in time (not killed). */
  async end(timeoutMs: number): Promise<number[]> {
    this.#stopProbes()
    const left = await Promise.all(this.hosts.map((host) => host.pool.end(timeoutMs)))
    return left.flat()
  }

  /** Stops the probes and ends every host's pool; what did not close in time is killed on its own host. Resolves to how many were killed. */
  async endAndKill(timeoutMs: number): Promise<number> {
    this.#stopProbes()
    const killed = await Promise.all(this.hosts.map((host) => host.pool.endAndKill(timeoutMs)))
    return killed.reduce((a, b) => a + b, 0)
  }

  /** Runs the library's own work in the first host's pool context, outside any caller's trace. */
  internal<T>(fn: () => T): T {
    return (this.hosts[0] as Host).pool.internal(fn)
  }

  destroyAll(reason: DestroyReason): void {
    this.#stopProbes()
    for (const host of this.hosts) host.pool.destroyAll(reason)
  }

  /**
   * The ids leased on every host. Remembered per host for {@link Topology.kill}: shutdown reads them
   * before it interrupts the scopes, which takes those connections back before the KILL goes out.
   */
  leasedThreadIds(): number[] {
    this.#leasedAtRead = new Map(this.hosts.map((host) => [host, host.pool.leasedThreadIds()]))
    return [...this.#leasedAtRead.values()].flat()
  }

  destroyLeased(reason: DestroyReason): void {
    for (const host of this.hosts) host.pool.destroyLeased(reason)
  }

  /**
   * Kills each id on the host that has it leased, or had it at the last {@link Topology.leasedThreadIds}
   * (ids of different servers may coincide).
   */
  async kill(threadIds: number[]): Promise<number> {
    const wanted = new Set(threadIds)
    const killed = await Promise.all(
      this.hosts.map((host) => {
        const leased = new Set([...(this.#leasedAtRead.get(host) ?? []), ...host.pool.leasedThreadIds()])
        const mine = [...leased].filter((id) => wanted.has(id))
        return mine.length > 0 ? host.pool.kill(mine) : 0
      }),
    )
    return killed.reduce((a, b) => a + b, 0)
  }
}

