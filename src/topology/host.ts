/**
 * @module
 * One host of an alias with `hosts`/`replicas`: its own {@link AliasPool} (same options, host
 * and port overridden), its health probe, and what the probe last found.
 */
import type { ErrorClass } from '../classify.js'
import type { ResolvedAliasOptions } from '../options.js'
import { AliasPool, type AliasStats } from '../pool.js'
import { type HostAddress, addressKey } from './addresses.js'
import type { GtidPosition } from './gtid.js'
import { HostProbe } from './probe.js'

/** What a host is to its alias right now. */
export type HostRole = 'writer' | 'candidate' | 'replica'

/**
 * What the last probe (or the last failure) found.
 * - `writable`, `read-only`, `not-ready` (a Galera node outside the primary component): a candidate writer's view of itself.
 * - `healthy`, `lagging` (behind by more than `maxReplicaLagMs`), `not-replicating`: a replica's.
 * - `down`: no answer, or a refused login. `unknown`: not probed yet.
 */
export type HostState = 'unknown' | 'writable' | 'read-only' | 'not-ready' | 'healthy' | 'lagging' | 'not-replicating' | 'down'

/** Per-host counters in `stats().aliases[alias].hosts`. */
export interface HostStats extends Omit<AliasStats, 'hosts'> {
  /** `writer` (takes the writes now), `candidate` (another of `hosts`) or `replica`. */
  role: HostRole
  /** The candidate-writer view for hosts in `hosts`, the replica view for replicas. */
  state: HostState
  /** Replication lag in milliseconds as last measured; null when unknown or not a replica. */
  lagMs: number | null
  /** Statements routed to this host as reads of a replica. */
  readsRouted: number
  /** Statements sent to this host in all. */
  statements: number
}

/** @internal */
export class Host {
  readonly address: HostAddress
  readonly key: string
  readonly pool: AliasPool
  readonly probe: HostProbe
  /** Listed in `hosts` (or the alias's only host). */
  candidate = false
  /** Listed in `replicas`. */
  replica = false
  writerState: HostState = 'unknown'
  replicaState: HostState = 'unknown'
  lagMs: number | null = null
  binlogPos: GtidPosition | undefined
  readsRouted = 0
  statements = 0
  /** Why the host was last excluded, for the log line of a change. */
  lastProblem: string | undefined

  constructor(address: HostAddress, options: ResolvedAliasOptions, classify: (error: unknown) => ErrorClass, hostAcquireMs: number) {
    this.address = address
    this.key = addressKey(address)
    const connectTimeout = Math.min(options.pool.connectTimeout ?? hostAcquireMs, hostAcquireMs)
    const pool = { ...options.pool, host: address.host, port: address.port, connectTimeout }
    // A host's acquisition is bounded well under the alias's: the alias moves to another host instead of waiting on a dead one.
    this.pool = new AliasPool({ ...options, acquireTimeoutMs: hostAcquireMs, pool }, classify)
    this.probe = new HostProbe(pool, Math.max(options.pingTimeoutMs, 500))
  }

  /** Usable for reads now. */
  get readable(): boolean {
    return this.replicaState === 'healthy'
  }

  stats(role: HostRole): HostStats {
    return {
      ...this.pool.stats(),
      role,
      state: role === 'replica' ? this.replicaState : this.writerState,
      lagMs: this.lagMs,
      readsRouted: this.readsRouted,
      statements: this.statements,
    }
  }
}
