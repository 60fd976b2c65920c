/**
 * Primary failover on a real GTID replication set: a writer loop at about 100 writes/s while the
 * primary is demoted (read-only, its connections killed) or killed -9, and a replica is promoted.
 * Every acknowledged write must exist exactly once on the new primary and writes must resume.
 * A mysql2 PoolCluster runs the same loop beside it (mysql2 issues #3123, #2050).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { lifespanFor } from '../support/env.js'
import { type FailoverSide, runFailover } from '../support/topology-failover.js'
import type { WriteAudit } from '../support/topology-load.js'
import { type ReplicationSet, startReplicationSet } from '../support/topology.js'

const sets: ReplicationSet[] = []
const fileStarted = performance.now()

afterAll(async () => {
  await Promise.all(sets.map((s) => s.stop()))
  console.info(`failover.test: whole file ${(performance.now() - fileStarted).toFixed(0)} ms`)
})

type Outcome = { lifespan: FailoverSide; cluster: FailoverSide }

/** The writer changes the lifespan logged, as `from → to` (undefined: none). */
let moves: Array<{ from?: string; to?: string }> = []

function failover(set: ReplicationSet, fault: () => Promise<void>): Promise<Outcome> {
  moves = []
  const record = (obj: unknown, msg?: string): void => {
    if (msg?.startsWith('writes of') || msg?.includes('has no writable host')) moves.push(obj as { from?: string; to?: string })
  }
  const logger = { info: record, warn: record, error: record }
  return runFailover(set, (config) => lifespanFor({ databases: { default: { ...config, logger } } }), fault)
}

function report(name: string, o: Outcome): void {
  const row = (who: string, a: WriteAudit, extra: string): string =>
    `| ${name} | ${who} | ${a.acked} | ${a.lost.length} | ${a.doubled.length} | ${Number.isFinite(a.gapMs) ? a.gapMs : 'never resumed'} | ${JSON.stringify(a.failedByCode)} | ${extra} |`
  console.info(
    [
      '| scenario | client | acked | lost | doubled | gap ms | failed writes by code | |',
      row('mysql-lifespan', o.lifespan, `resumed ${o.lifespan.resumedAfterPromotionMs} ms after promotion; reads ${o.lifespan.reads} ok / ${o.lifespan.readsFailed} failed`),
      row('PoolCluster', o.cluster, `${o.cluster.ackedAfterPromotion} writes acked after promotion`),
    ].join('\n'),
  )
}

describe('primary failover (writer loop ~100 writes/s)', () => {
  it('primary made read-only, its connections killed, replica promoted: every acknowledged write exactly once, writes resume', async () => {
    const set = await startReplicationSet({ replicas: 2 })
    sets.push(set)
    const a = set.primary
    const o = await failover(set, async () => {
      await set.setReadOnly(a, true, { killConnections: true })
      // Every write the old primary acknowledged reaches the replicas before the promotion.
      await set.sync()
    })
    report('read-only + promote', o)
    expect(o.lifespan.lost).toEqual([])
    expect(o.lifespan.doubled).toEqual([])
    expect(Object.keys(o.lifespan.failedByCode).every((code) => !code.startsWith('(no code)'))).toBe(true)
    expect(o.lifespan.resumedAfterPromotionMs).toBeLessThan(5_000)
    expect(o.lifespan.readsFailed).toBe(0)
    // Logged: first A, then none writable, then B.
    expect(moves.map((m) => m.to)).toEqual([set.address(set.nodes[0]!), undefined, set.address(set.nodes[1]!)])
    // PoolCluster keeps writing to the demoted primary: refused with 1290 until the process restarts.
    expect(o.cluster.failedByCode.ER_OPTION_PREVENTS_STATEMENT).toBeGreaterThan(0)
    expect(o.cluster.ackedAfterPromotion).toBe(0)
  }, 90_000)

  it('kill -9 of the primary, then promotion: no acknowledged write lost or doubled, writes resume', async () => {
    // One replica with semi-sync: every acknowledged commit is on the replica that gets promoted.
    const set = await startReplicationSet({ replicas: 1 })
    sets.push(set)
    const o = await failover(set, () => set.kill(set.primary))
    report('kill -9 + promote', o)
    expect(o.lifespan.lost).toEqual([])
    expect(o.lifespan.doubled).toEqual([])
    expect(Object.keys(o.lifespan.failedByCode).every((code) => !code.startsWith('(no code)'))).toBe(true)
    expect(o.lifespan.resumedAfterPromotionMs).toBeLessThan(5_000)
  }, 90_000)
})
