/**
 * @module
 * An alias with `hosts` and/or `replicas`: one {@link Host} (pool + probe) per distinct address,
 * which host takes the writes now, which replicas may take reads, and the routing of each
 * statement from its scope's state. A background probe (unref'd, stopped at shutdown) keeps the
 * hosts' states current; a refusal (1290, 1047) or an unreachable writer triggers a check at once.
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
import { covers, type GtidPosition } from './gtid.js'
import { Host, type HostRole, type HostState, type HostStats } from './host.js'
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

interface Sample {
  at: number
  pos: GtidPosition
}

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
  readonly probeIntervalMs: number
  writer: Host | undefined
  closed = false
  retries = 0
  fallbackReads = 0
  causalFallbacks = 0
  readonly #owners = new WeakMap<PoolConnection, { host: Host; role: 'writer' | 'reader' }>()
  readonly #scopes = new WeakMap<Frame, ScopeRoute>()
  #samples: Sample[] = []
  #timer: NodeJS.Timeout | undefined
  #firstRound: Promise<void> | undefined
  #round: Promise<void> | undefined
  #discovery: Promise<void> | undefined
  /** A check of the writer started by a failure on it: new writes wait for its answer instead of trying a dead host. */
  suspicion: Promise<void> | undefined
  #next = 0
  #lastRouting: string | undefined

  constructor(options: ResolvedAliasOptions, topology: ResolvedTopology, classify: (error: unknown) => ErrorClass) {
    this.options = options
    this.classify = classify
    this.causalWaitMs = Math.min(options.maxReplicaLagMs, 2_000)
    this.probeIntervalMs = Math.max(100, Math.min(1_000, Math.floor(options.maxReplicaLagMs / 2)))
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
    this.writerSource = new WriterSource(this)
    this.readerSource = this.replicas.length > 0 ? new ReaderSource(this) : undefined
  }

  get alias(): string {
    return this.options.alias
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
    if (cls === 'read-only') {
      // Refused, not applied: this host takes no writes now. Its connections are suspect; find the writer.
      this.#setWriterState(host, isWsrep(err) ? 'not-ready' : 'read-only', describe(err))
      host.pool.suspectAll()
      if (this.writer === host) this.#setWriter(undefined, describe(err))
      void this.#suspect()
    } else if (cls === 'disconnect') {
      host.pool.suspectAll()
      // A killed connection or a dead host: ask every candidate whether it is (still) writable.
      void this.#suspect()
    }
  }

  #suspect(): Promise<void> {
    const check = this.discover()
    this.suspicion = check
    void check.finally(() => {
      if (this.suspicion === check) this.suspicion = undefined
    })
    return check
  }

  /** Acquiring from the writer failed: leave it unless it still says it is writable. */
  async writerFailed(host: Host, err: unknown): Promise<void> {
    host.lastProblem = describe(err)
    host.pool.suspectAll()
    await this.#suspect()
  }

  replicaFailed(host: Host, err: unknown): void {
    host.pool.suspectAll()
    this.#setReplicaState(host, 'down', describe(err))
  }

  // --- probing ---

  /** Starts the background probe on first use; resolves when the first round is over. */
  start(): Promise<void> {
    if (this.#firstRound) return this.#firstRound
    if (this.closed) return Promise.resolve()
    this.#firstRound = this.#probeRound()
    this.#timer = setInterval(() => {
      if (!this.#round) void this.#probeRound()
    }, this.probeIntervalMs)
    this.#timer.unref()
    return this.#firstRound
  }

  /** Asks every candidate whether it is writable and picks the writer (coalesced: one round at a time). */
  discover(): Promise<void> {
    this.#discovery ??= this.#probeCandidates().finally(() => (this.#discovery = undefined))
    return this.#discovery
  }

  #probeRound(): Promise<void> {
    this.#round ??= (async () => {
      try {
        await this.discover()
        await Promise.all(this.replicas.map((h) => this.#probeReplica(h)))
      } catch {
        // Each host's failure is recorded on the host; a round never rejects.
      } finally {
        this.#round = undefined
      }
    })()
    return this.#round
  }

  async #probeCandidates(): Promise<void> {
    if (this.closed) return
    const at = Date.now()
    await Promise.all(
      this.candidates.map(async (host) => {
        try {
          const view = await host.probe.writer()
          host.binlogPos = view.binlogPos
          this.#setWriterState(host, view.state, view.state === 'writable' ? undefined : view.state === 'not-ready' ? 'wsrep_ready is OFF' : 'read_only is ON')
        } catch (err) {
          host.binlogPos = undefined
          this.#setWriterState(host, 'down', describe(err))
        }
      }),
    )
    if (this.closed) return
    const keep = this.writer?.writerState === 'writable' ? this.writer : undefined
    const next = keep ?? this.candidates.find((h) => h.writerState === 'writable')
    if (next !== this.writer) this.#setWriter(next, next ? undefined : 'no candidate is writable')
    if (next?.binlogPos) {
      this.#samples.push({ at, pos: next.binlogPos })
      const horizon = Date.now() - Math.max(10_000, 10 * this.options.maxReplicaLagMs)
      while (this.#samples.length > 1 && ((this.#samples[0] as Sample).at < horizon || this.#samples.length > 500)) this.#samples.shift()
    }
  }

  async #probeReplica(host: Host): Promise<void> {
    if (this.closed) return
    try {
      const view = await host.probe.replica()
      if (view.galera !== undefined) {
        // A Galera node listed as a replica: in step with the cluster (flow control) whenever it is ready.
        host.lagMs = view.galera ? 0 : null
        return this.#setReplicaState(host, view.galera ? 'healthy' : 'down', view.galera ? undefined : 'wsrep_ready is OFF (outside the primary component)')
      }
      if (view.statusKnown && !view.isReplica) {
        host.lagMs = null
        return this.#setReplicaState(host, 'not-replicating', view.readOnly ? 'not a replica (no replication configured)' : 'not a replica: it is a writable server with no replication configured')
      }
      if (view.statusKnown && !view.sqlRunning) {
        host.lagMs = null
        return this.#setReplicaState(host, 'not-replicating', 'its SQL thread is stopped (Seconds_Behind_Master is NULL)')
      }
      const lag = this.#gtidLag(view.slavePos) ?? (view.secondsBehind === null ? null : view.secondsBehind * 1_000)
      host.lagMs = lag
      if (lag !== null && lag > this.options.maxReplicaLagMs) {
        return this.#setReplicaState(host, 'lagging', `behind by ${lag} ms (maxReplicaLagMs ${this.options.maxReplicaLagMs})`)
      }
      this.#setReplicaState(host, 'healthy', undefined)
    } catch (err) {
      host.lagMs = null
      this.#setReplicaState(host, 'down', describe(err))
    }
  }

  /**
   * How long ago the writer had a position this replica has not applied yet: 0 when it has the
   * latest sample, null when there is nothing to compare (no writer known, no GTIDs).
   */
  #gtidLag(pos: GtidPosition | undefined): number | null {
    if (!pos || this.#samples.length === 0) return null
    const firstMissing = this.#samples.find((s) => !covers(pos, s.pos))
    return firstMissing ? Math.max(0, Date.now() - firstMissing.at) : 0
  }

  #setWriter(next: Host | undefined, why: string | undefined): void {
    const previous = this.writer
    this.writer = next
    // Positions of another primary say nothing about lag behind this one.
    this.#samples = []
    if (previous) previous.pool.suspectAll()
    const level = previous && next ? 'warn' : next ? 'info' : 'error'
    log(
      this.options.logger,
      level,
      { alias: this.alias, from: previous?.key, to: next?.key, reason: why },
      next ? `writes of "${this.alias}" go to ${next.key}` : `"${this.alias}" has no writable host`,
    )
  }

  #setWriterState(host: Host, state: HostState, why: string | undefined): void {
    if (host.writerState === state) return
    const from = host.writerState
    host.writerState = state
    host.lastProblem = why
    log(this.options.logger, state === 'writable' ? 'info' : 'warn', { alias: this.alias, host: host.key, from, to: state, reason: why }, `host ${host.key} of "${this.alias}" is ${state}`)
  }

  #setReplicaState(host: Host, state: HostState, why: string | undefined): void {
    if (host.replicaState === state) return
    const from = host.replicaState
    host.replicaState = state
    host.lastProblem = why
    const level = state === 'healthy' ? 'info' : 'warn'
    log(this.options.logger, level, { alias: this.alias, host: host.key, from, to: state, reason: why }, state === 'healthy' ? `replica ${host.key} of "${this.alias}" takes reads` : `replica ${host.key} of "${this.alias}" is skipped: ${why ?? state}`)
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
      destroyed: { maxAge: 0, idle: 0, ping: 0, broken: 0, timeout: 0, interrupted: 0, shutdown: 0 },
      validations: 0, pings: 0, pingFailures: 0, retries: this.retries, acquireTimeouts: 0,
    }
    for (const host of this.hosts) {
      const s = host.stats(this.#role(host))
      hosts[host.key] = s
      sum.open += s.open
      sum.idle += s.idle
      sum.inUse += s.inUse
      sum.waiting += s.waiting
      sum.created += s.created
      sum.validations += s.validations
      sum.pings += s.pings
      sum.pingFailures += s.pingFailures
      sum.acquireTimeouts += s.acquireTimeouts
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
    this.closed = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    for (const host of this.hosts) host.probe.close()
  }

  /** Stops the probes and ends every host's pool; what did not close in time is killed on its own host. */
  async end(timeoutMs: number): Promise<number[]> {
    this.#stopProbes()
    const left = await Promise.all(
      this.hosts.map(async (host) => {
        const ids = await host.pool.end(timeoutMs)
        if (ids.length > 0) await host.pool.kill(ids)
        return ids
      }),
    )
    return left.flat()
  }

  destroyAll(reason: DestroyReason): void {
    this.#stopProbes()
    for (const host of this.hosts) host.pool.destroyAll(reason)
  }

  leasedThreadIds(): number[] {
    return this.hosts.flatMap((h) => h.pool.leasedThreadIds())
  }

  destroyLeased(reason: DestroyReason): void {
    for (const host of this.hosts) host.pool.destroyLeased(reason)
  }

  /** Kills each id on the host that has it leased (ids of different servers may coincide). */
  async kill(threadIds: number[]): Promise<void> {
    const wanted = new Set(threadIds)
    await Promise.all(
      this.hosts.map((host) => {
        const mine = host.pool.leasedThreadIds().filter((id) => wanted.has(id))
        return mine.length > 0 ? host.pool.kill(mine) : undefined
      }),
    )
  }
}

function isWsrep(err: unknown): boolean {
  return (err as { errno?: unknown }).errno === 1047
}
