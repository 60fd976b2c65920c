/**
 * Primary failover on a real GTID replication set: a writer loop at about 100 writes/s while the
 * primary is demoted (read-only, its connections killed) or killed -9, and a replica is promoted.
 * Every acknowledged write must exist exactly once on the new primary and writes must resume.
 * A mysql2 PoolCluster runs the same loop beside it (mysql2 issues #3123, #2050).
 */
import mysql from 'mysql2/promise'
import { afterAll, describe, expect, it } from 'vitest'
import { lifespanFor, sleep, tableName } from '../support/env.js'
import { auditWrites, readerLoop, writerLoop, type WriteAudit } from '../support/topology-load.js'
import { APP_USER, type ReplicationSet, startReplicationSet } from '../support/topology.js'

const sets: ReplicationSet[] = []
const fileStarted = performance.now()

afterAll(async () => {
  await Promise.all(sets.map((s) => s.stop()))
  console.info(`failover.test: whole file ${(performance.now() - fileStarted).toFixed(0)} ms`)
})

interface Outcome {
  lifespan: WriteAudit & { resumedAfterPromotionMs: number; readsFailed: number; reads: number }
  cluster: WriteAudit & { ackedAfterPromotion: number }
}

async function countsOn(node: ReplicationSet['primary'], table: string): Promise<Map<number, number>> {
  const rows = (await node.query(`SELECT seq, COUNT(*) AS n FROM test.${table} GROUP BY seq`)) as Array<{ seq: number; n: number }>
  return new Map(rows.map((r) => [Number(r.seq), Number(r.n)]))
}

/** Runs both writer loops, lets `fault` happen, promotes `set.nodes[1]`, and audits the new primary. */
async function failover(set: ReplicationSet, fault: () => Promise<void>): Promise<Outcome> {
  const [a, b] = set.nodes as [ReplicationSet['primary'], ReplicationSet['primary']]
  const ours = tableName('fo_lifespan')
  const theirs = tableName('fo_cluster')
  for (const t of [ours, theirs]) await a.query(`CREATE TABLE test.${t} (id INT AUTO_INCREMENT PRIMARY KEY, seq INT NOT NULL)`)
  await set.sync()

  const replicas = set.replicas.filter((r) => r !== b).map((r) => set.address(r))
  const lifespan = lifespanFor({
    databases: {
      default: { ...APP_USER, database: 'test', hosts: [set.address(a), set.address(b)], ...(replicas.length > 0 ? { replicas } : {}) },
    },
  })
  await lifespan.startup()
  const cluster = mysql.createPoolCluster({ restoreNodeTimeout: 1_000 })
  cluster.add('A', { host: a.host, port: a.port, ...APP_USER, database: 'test', connectionLimit: 4 })
  cluster.add('B', { host: b.host, port: b.port, ...APP_USER, database: 'test', connectionLimit: 4 })
  const writers = cluster.of('*', 'ORDER')

  const mine = writerLoop((seq) => lifespan.scope(() => lifespan.db().execute(`INSERT INTO ${ours} (seq) VALUES (?)`, [seq])))
  const plain = writerLoop((seq) => writers.query(`INSERT INTO ${theirs} (seq) VALUES (?)`, [seq]))
  const reads = readerLoop(() => lifespan.scope(() => lifespan.db().query(`SELECT COUNT(*) AS n FROM ${ours}`)), 2, 10)
  await sleep(600)
  await fault()
  await sleep(300)
  await set.promote(b)
  const promotedAt = Date.now()
  // Keep going until both loops had their chance after the promotion.
  await sleep(2_000)
  const [mineLog, plainLog, readLog] = await Promise.all([mine.stop(), plain.stop(), reads.stop()])
  await cluster.end().catch(() => undefined)

  const firstAfter = Math.min(...[...mineLog.acked.values()].filter((t) => t > promotedAt))
  return {
    lifespan: {
      ...auditWrites(mineLog, await countsOn(b, ours)),
      resumedAfterPromotionMs: firstAfter - promotedAt,
      readsFailed: readLog.failed.length,
      reads: readLog.ok,
    },
    cluster: {
      ...auditWrites(plainLog, await countsOn(b, theirs)),
      ackedAfterPromotion: [...plainLog.acked.values()].filter((t) => t > promotedAt).length,
    },
  }
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
