/**
 * Measure "scale-out" (issue 11): on loopback replication sets started for the run
 * (test/support/topology.ts), the failover gap and the writes and reads that failed, for a
 * mysql2 PoolCluster and mysql-lifespan under the same fault at the same time; and the cost of
 * routing reads to a replica against a plain mysql2 pool pointed at that replica.
 */
import { createLifespan, type Lifespan } from 'mysql-lifespan'
import mysql from 'mysql2/promise'
import { runFailover } from '../test/support/topology-failover.js'
import type { WriteAudit } from '../test/support/topology-load.js'
import { APP_USER, type ReplicationSet, startReplicationSet } from '../test/support/topology.js'
import { fmtInt, fmtMs, median, table } from './lib/stats.js'

export interface ScaleOutOptions {
  /** Failover rounds per scenario. */
  rounds: number
  /** Routing overhead: rounds, and the duration of each window in ms. */
  overhead: { rounds: number; windowMs: number; concurrency: number }
  log: (line: string) => void
}

type Node = ReplicationSet['primary']

interface ClientOutcome {
  audit: WriteAudit
  reads: number
  readsFailed: number
}

const SCENARIOS = {
  'read-only': 'primary made read-only, its connections killed, replica promoted',
  kill: 'kill -9 of the primary, replica promoted',
} as const
type Scenario = keyof typeof SCENARIOS

async function failoverOnce(scenario: Scenario, log: (line: string) => void): Promise<Record<'cluster' | 'lifespan', ClientOutcome>> {
  // kill -9: one semi-sync replica, so every acknowledged commit is on the one promoted.
  const set = await startReplicationSet({ replicas: scenario === 'kill' ? 1 : 2 })
  const lifespans: Lifespan[] = []
  try {
    const a = set.primary
    const fault = scenario === 'kill'
      ? () => set.kill(a)
      : async () => {
        await set.setReadOnly(a, true, { killConnections: true })
        await set.sync()
      }
    const o = await runFailover(set, (config) => {
      const l = createLifespan({ databases: { default: config } })
      lifespans.push(l)
      return l
    }, fault, { warmupMs: 1_000, afterMs: 3_000 })
    const out = {
      lifespan: { audit: o.lifespan, reads: o.lifespan.reads, readsFailed: o.lifespan.readsFailed },
      cluster: { audit: o.cluster, reads: o.cluster.reads, readsFailed: o.cluster.readsFailed },
    }
    const gap = (ms: number): string => (Number.isFinite(ms) ? `${fmtMs(ms, 0)} ms` : 'never resumed')
    const failed = (a: WriteAudit): number => Object.values(a.failedByCode).reduce((x, y) => x + y, 0)
    log(`  ${scenario}: lifespan gap ${gap(o.lifespan.gapMs)}, failed writes ${failed(o.lifespan)}, reads ${o.lifespan.readsFailed}; PoolCluster gap ${gap(o.cluster.gapMs)}, failed writes ${failed(o.cluster)}, reads ${o.cluster.readsFailed}`)
    return out
  } finally {
    await Promise.all(lifespans.map((l) => l.shutdown({ timeoutMs: 2_000 })))
    await set.stop()
  }
}

/** Reads per second of one window: `concurrency` loops of `read` for `windowMs`. */
async function throughput(read: () => Promise<unknown>, windowMs: number, concurrency: number): Promise<number> {
  let n = 0
  const end = Date.now() + windowMs
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await read()
        n++
      }
    }),
  )
  return (n * 1000) / windowMs
}

async function routingOverhead(o: ScaleOutOptions['overhead'], log: (line: string) => void): Promise<{ plain: number; lifespan: number }> {
  const set = await startReplicationSet({ replicas: 1 })
  try {
    const [p, r] = set.nodes as [Node, Node]
    const t = `so_reads_${process.pid}`
    await p.query(`CREATE TABLE test.${t} (id INT PRIMARY KEY, v INT NOT NULL)`)
    await p.query(`INSERT INTO test.${t} VALUES (1, 1), (2, 2), (3, 3)`)
    await set.sync()
    const sql = `SELECT v FROM ${t} WHERE id = ?`
    const plain = mysql.createPool({ host: r.host, port: r.port, ...APP_USER, database: 'test', connectionLimit: 10 })
    const lifespan = createLifespan({ databases: { default: { host: p.host, port: p.port, ...APP_USER, database: 'test', connectionLimit: 10, replicas: [set.address(r)] } } })
    await lifespan.startup()
    const readPlain = (): Promise<unknown> => plain.query(sql, [2])
    const readOurs = (): Promise<unknown> => lifespan.scope(() => lifespan.db().query(sql, [2]))
    await throughput(readPlain, 500, o.concurrency)
    await throughput(readOurs, 500, o.concurrency)
    const plainRps: number[] = []
    const oursRps: number[] = []
    for (let round = 0; round < o.rounds; round++) {
      // Alternate the order so neither always runs on a warmer machine.
      if (round % 2 === 0) {
        plainRps.push(await throughput(readPlain, o.windowMs, o.concurrency))
        oursRps.push(await throughput(readOurs, o.windowMs, o.concurrency))
      } else {
        oursRps.push(await throughput(readOurs, o.windowMs, o.concurrency))
        plainRps.push(await throughput(readPlain, o.windowMs, o.concurrency))
      }
    }
    const replicaReads = lifespan.stats().aliases.default?.hosts?.[set.address(r)]?.readsRouted ?? 0
    log(`  routing: plain ${fmtInt(median(plainRps))} reads/s, mysql-lifespan ${fmtInt(median(oursRps))} reads/s (${fmtInt(replicaReads)} reads routed to the replica)`)
    await Promise.all([lifespan.shutdown({ timeoutMs: 2_000 }), plain.end()])
    return { plain: median(plainRps), lifespan: median(oursRps) }
  } finally {
    await set.stop()
  }
}

export async function runScaleOut(options: ScaleOutOptions): Promise<{ markdown: string; lifespanFailedReads: number; lifespanLostOrDoubled: number; routingRatio: number }> {
  const rows: string[][] = []
  let lifespanFailedReads = 0
  let lifespanLostOrDoubled = 0
  for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
    const runs: Array<Record<'cluster' | 'lifespan', ClientOutcome>> = []
    for (let round = 0; round < options.rounds; round++) runs.push(await failoverOnce(scenario, options.log))
    for (const client of ['cluster', 'lifespan'] as const) {
      const of = (f: (o: ClientOutcome) => number): number => median(runs.map((r) => f(r[client])))
      const lostOrDoubled = runs.reduce((a, r) => a + r[client].audit.lost.length + r[client].audit.doubled.length, 0)
      const failedWrites = of((o) => Object.values(o.audit.failedByCode).reduce((a, b) => a + b, 0))
      const codes = [...new Set(runs.flatMap((r) => Object.keys(r[client].audit.failedByCode)))].join(', ')
      if (client === 'lifespan') {
        lifespanFailedReads += runs.reduce((a, r) => a + r.lifespan.readsFailed, 0)
        lifespanLostOrDoubled += lostOrDoubled
      }
      rows.push([
        SCENARIOS[scenario],
        client === 'lifespan' ? 'mysql-lifespan' : 'mysql2 PoolCluster (ORDER)',
        fmtInt(of((o) => o.audit.acked)),
        String(runs.reduce((a, r) => a + r[client].audit.lost.length, 0)),
        String(runs.reduce((a, r) => a + r[client].audit.doubled.length, 0)),
        runs.some((r) => !Number.isFinite(r[client].audit.gapMs)) ? 'never resumed' : fmtInt(of((o) => o.audit.gapMs)),
        `${fmtInt(failedWrites)}${codes ? ` (${codes})` : ''}`,
        `${fmtInt(of((o) => o.readsFailed))} of ${fmtInt(of((o) => o.reads + o.readsFailed))}`,
      ])
    }
  }
  const routing = await routingOverhead(options.overhead, options.log)
  const ratio = routing.lifespan / routing.plain
  const markdown = [
    `Writer loop at ~100 writes/s and 2 readers per client, both clients under the same fault at the same time; ${options.rounds} round(s) per scenario, medians (lost and doubled: totals over rounds). ` +
      'Gap: the longest stretch between two acknowledged writes; most of it is the simulated failover tool (read-only: wait for the replicas to catch up, 0.3 s, promote; kill: 0.3 s, promote), during which no host is writable. ' +
      'Lost/doubled: acknowledged writes missing from, or present twice on, the new primary.',
    '',
    table(['scenario', 'client', 'acked', 'lost', 'doubled', 'gap ms', 'failed writes', 'failed reads'], rows, 2),
    '',
    `Replica routing: \`SELECT v FROM t WHERE id = ?\` on a replica, ${options.overhead.concurrency} concurrent loops, ${options.overhead.rounds} windows of ${options.overhead.windowMs} ms, medians.`,
    '',
    table(['client', 'reads/s', 'ratio'], [
      ['plain mysql2 pool pointed at the replica', fmtInt(routing.plain), '1.00x'],
      ['mysql-lifespan, `replicas: [replica]`, one scope per read', fmtInt(routing.lifespan), `${ratio.toFixed(2)}x`],
    ]),
  ].join('\n')
  return { markdown, lifespanFailedReads, lifespanLostOrDoubled, routingRatio: ratio }
}
