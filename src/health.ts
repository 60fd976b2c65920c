/**
 * @module
 * Readiness and liveness for probes (Kubernetes, load balancers). Readiness asks each alias for a
 * validated connection within a short bound and pings it, as a scope would get it, but without a
 * scope: nothing is admitted, nothing waits in the pool's queue. When every connection is leased
 * the check takes no slot (it would delay a real scope): the alias counts as ready while scopes
 * gave connections back recently ("saturated"), since the server is evidently answering them.
 * Liveness touches no database: the process is alive as long as the lifespan has not stopped.
 */
import type { PoolConnection } from 'mysql2'
import { describe } from './errors.js'
import type { LifespanState } from './lifespan-types.js'
import type { ConnectionSource } from './pool.js'

/** Options of {@link Lifespan.health}. */
export interface HealthOptions {
  /**
   * `true` (readiness): check each alias against its server. `false` (liveness): report the
   * lifecycle state only, without a round trip.
   *
   * @default true
   */
  database?: boolean
  /**
   * Bound of each alias's check, in milliseconds.
   *
   * @default min(pingTimeoutMs, 1000) of each alias
   */
  timeoutMs?: number
}

/**
 * What one alias's check found:
 * `ready` a validated connection answered a ping; `saturated` every connection is leased and
 * one was given back within the last 10 s (ready, nothing was taken); `busy` every connection is
 * leased and none came back for longer (not ready); `unreachable` no connection could be had or it
 * did not answer in time; `skipped` liveness only; `not-running` the lifespan is not running (not started yet, starting, stopping or stopped).
 */
export type AliasHealthStatus = 'ready' | 'saturated' | 'busy' | 'unreachable' | 'skipped' | 'not-running'

/** One alias in a {@link HealthReport}. */
export interface AliasHealth {
  ok: boolean
  status: AliasHealthStatus
  /** Why it is not ok (or why ok without a round trip), for logs and probe bodies. Never holds credentials. */
  reason?: string
  /** Time the check took, in milliseconds (readiness only). */
  durationMs?: number
}

/** What {@link Lifespan.health} resolves to. */
export interface HealthReport {
  /** Readiness: the lifespan runs and every alias is ok. Liveness: the lifespan has not stopped. */
  ok: boolean
  /** The lifespan's lifecycle state. */
  state: LifespanState
  /** Per alias. */
  aliases: Record<string, AliasHealth>
}

/** A saturated pool still counts as ready while a connection came back within this window. */
export const SATURATED_GRACE_MS = 10_000

/** @internal Runs the checks for {@link Lifespan.health}. */
export async function checkHealth(state: LifespanState, pools: ReadonlyMap<string, ConnectionSource>, options: HealthOptions = {}): Promise<HealthReport> {
  const aliases: Record<string, AliasHealth> = {}
  if (options.database === false) {
    for (const alias of pools.keys()) aliases[alias] = { ok: true, status: 'skipped', reason: 'liveness: the database is not checked' }
    return { ok: state !== 'stopped', state, aliases }
  }
  if (state !== 'running') {
    for (const alias of pools.keys()) aliases[alias] = { ok: false, status: 'not-running', reason: `the lifespan is ${state}` }
    return { ok: false, state, aliases }
  }
  await Promise.all([...pools].map(async ([alias, pool]) => (aliases[alias] = await checkAlias(pool, options.timeoutMs))))
  return { ok: Object.values(aliases).every((a) => a.ok), state, aliases }
}

async function checkAlias(pool: ConnectionSource, timeoutMs = Math.min(pool.options.pingTimeoutMs, 1_000)): Promise<AliasHealth> {
  const started = Date.now()
  const took = (): number => Date.now() - started
  const { open, idle } = pool.stats()
  if (pool.limit > 0 && open >= pool.limit && idle === 0) {
    const since = Date.now() - pool.lastReleasedAt
    if (pool.lastReleasedAt > 0 && since <= SATURATED_GRACE_MS) {
      return { ok: true, status: 'saturated', reason: `all ${open} connections are in use; one was given back ${since} ms ago`, durationMs: took() }
    }
    return { ok: false, status: 'busy', reason: `all ${open} connections are in use and none came back for ${SATURATED_GRACE_MS} ms`, durationMs: took() }
  }
  let conn: PoolConnection
  try {
    conn = await pool.acquire(timeoutMs)
  } catch (err) {
    return { ok: false, status: 'unreachable', reason: describe(err), durationMs: took() }
  }
  const ok = await pool.probe(conn, Math.max(1, timeoutMs - took()))
  if (!ok) {
    pool.destroy(conn, 'ping')
    pool.suspectAll()
    return { ok: false, status: 'unreachable', reason: `no answer to a ping within ${timeoutMs} ms`, durationMs: took() }
  }
  pool.release(conn)
  return { ok: true, status: 'ready', durationMs: took() }
}
