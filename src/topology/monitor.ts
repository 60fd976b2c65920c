/**
 * @module
 * The health monitor of an alias with `hosts`/`replicas`: a background probe round every
 * `probeIntervalMs` (unref'd; stopped at shutdown) asks each candidate whether it is writable and
 * each replica how far behind it is, picks the writer, and logs every change of state. A failure
 * seen on the writer starts a round at once ({@link HealthMonitor.suspect}).
 */
import { describe } from '../errors.js'
import { log } from '../log.js'
import type { ResolvedAliasOptions } from '../options.js'
import { covers, type GtidPosition } from './gtid.js'
import type { Host, HostState } from './host.js'

interface Sample {
  at: number
  pos: GtidPosition
}

/** @internal */
export class HealthMonitor {
  readonly options: ResolvedAliasOptions
  readonly candidates: readonly Host[]
  readonly replicas: readonly Host[]
  readonly probeIntervalMs: number
  /** The host that takes the writes now. */
  writer: Host | undefined
  closed = false
  /** A check of the writer started by a failure on it: new writes wait for its answer instead of trying a dead host. */
  suspicion: Promise<void> | undefined
  #samples: Sample[] = []
  #timer: NodeJS.Timeout | undefined
  #firstRound: Promise<void> | undefined
  #round: Promise<void> | undefined
  #discovery: Promise<void> | undefined

  constructor(options: ResolvedAliasOptions, candidates: readonly Host[], replicas: readonly Host[]) {
    this.options = options
    this.candidates = candidates
    this.replicas = replicas
    this.probeIntervalMs = Math.max(100, Math.min(1_000, Math.floor(options.maxReplicaLagMs / 2)))
  }

  get alias(): string {
    return this.options.alias
  }

  /** Checks every candidate now; new writes wait for the answer. */
  suspect(): Promise<void> {
    // A round already under way may have asked before the failure: its answer could be stale.
    const running = this.#discovery
    const check = running ? running.then(() => this.discover()) : this.discover()
    this.suspicion = check
    void check.finally(() => {
      if (this.suspicion === check) this.suspicion = undefined
    })
    return check
  }

  /** A refusal (1290, 1047) from `host`: it takes no writes now. */
  refused(host: Host, err: unknown): void {
    this.#setWriterState(host, (err as { errno?: unknown }).errno === 1047 ? 'not-ready' : 'read-only', describe(err))
    host.pool.suspectAll()
    if (this.writer === host) this.#setWriter(undefined, describe(err))
    void this.suspect()
  }

  /** `host` failed as a replica (disconnect, refused connection, 1047): skipped until a probe finds it healthy. */
  replicaFailed(host: Host, err: unknown): void {
    host.pool.suspectAll()
    this.#setReplicaState(host, 'down', describe(err))
  }

  stop(): void {
    this.closed = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

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
}
