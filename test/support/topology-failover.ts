/**
 * One primary failover on a replication set, run by the failover tests and the scale-out
 * benchmark: a mysql-lifespan writer loop (hosts = the primary and the replica to promote) and a
 * mysql2 PoolCluster loop over the same two nodes, readers beside them, the fault, the promotion,
 * and the audit of both tables on the new primary.
 */
import mysql from 'mysql2/promise'
import { auditWrites, readerLoop, writerLoop, type WriteAudit } from './topology-load.js'
import { APP_USER, type ReplicationSet } from './topology.js'

/** What the scenario needs of a lifespan: the source build's in tests, the dist build's in benchmarks. */
export interface LifespanLike {
  startup(): Promise<void>
  scope<T>(fn: () => T | Promise<T>): Promise<T>
  db(): { execute(sql: string, values?: unknown): Promise<unknown>; query(sql: string, values?: unknown): Promise<unknown> }
}

/** One client's side of a failover. */
export interface FailoverSide extends WriteAudit {
  reads: number
  readsFailed: number
  /** Acknowledged writes after the promotion. */
  ackedAfterPromotion: number
  /** From the promotion to the first acknowledged write after it, in ms (Infinity: none). */
  resumedAfterPromotionMs: number
}

type Node = ReplicationSet['primary']
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
let tables = 0

async function countsOn(node: Node, table: string): Promise<Map<number, number>> {
  const rows = (await node.query(`SELECT seq, COUNT(*) AS n FROM test.${table} GROUP BY seq`)) as Array<{ seq: number; n: number }>
  return new Map(rows.map((r) => [Number(r.seq), Number(r.n)]))
}

/**
 * With `set.nodes[0]` the primary: starts both loops, runs `fault` after `warmupMs`, promotes
 * `set.nodes[1]` 0.3 s later, keeps going for `afterMs`, and audits the new primary. `makeLifespan`
 * gets the alias config (app user, `hosts`, and `replicas` when the set has more nodes).
 */
export async function runFailover(
  set: ReplicationSet,
  makeLifespan: (config: Record<string, unknown>) => LifespanLike,
  fault: () => Promise<void>,
  { warmupMs = 600, afterMs = 2_000 } = {},
): Promise<{ lifespan: FailoverSide; cluster: FailoverSide }> {
  const [a, b] = set.nodes as [Node, Node]
  const n = ++tables
  const ours = `fo_lifespan_${process.pid}_${n}`
  const theirs = `fo_cluster_${process.pid}_${n}`
  for (const t of [ours, theirs]) await a.query(`CREATE TABLE test.${t} (id INT AUTO_INCREMENT PRIMARY KEY, seq INT NOT NULL)`)
  await set.sync()

  const replicas = set.replicas.filter((r) => r !== b).map((r) => set.address(r))
  const lifespan = makeLifespan({ ...APP_USER, database: 'test', hosts: [set.address(a), set.address(b)], ...(replicas.length > 0 ? { replicas } : {}) })
  await lifespan.startup()
  const cluster = mysql.createPoolCluster({ restoreNodeTimeout: 1_000 })
  cluster.add('A', { host: a.host, port: a.port, ...APP_USER, database: 'test', connectionLimit: 4 })
  cluster.add('B', { host: b.host, port: b.port, ...APP_USER, database: 'test', connectionLimit: 4 })
  const nodes = cluster.of('*', 'ORDER')

  const w1 = writerLoop((seq) => lifespan.scope(() => lifespan.db().execute(`INSERT INTO ${ours} (seq) VALUES (?)`, [seq])))
  const w2 = writerLoop((seq) => nodes.query(`INSERT INTO ${theirs} (seq) VALUES (?)`, [seq]))
  const r1 = readerLoop(() => lifespan.scope(() => lifespan.db().query(`SELECT COUNT(*) AS n FROM ${ours}`)), 2, 10)
  const r2 = readerLoop(() => nodes.query(`SELECT COUNT(*) AS n FROM ${theirs}`), 2, 10)
  await sleep(warmupMs)
  await fault()
  await sleep(300)
  await set.promote(b)
  const promotedAt = Date.now()
  await sleep(afterMs)
  const [l1, l2, lr1, lr2] = await Promise.all([w1.stop(), w2.stop(), r1.stop(), r2.stop()])
  await cluster.end().catch(() => undefined)

  const side = async (log: typeof l1, reads: typeof lr1, table: string): Promise<FailoverSide> => {
    const after = [...log.acked.values()].filter((t) => t > promotedAt)
    return {
      ...auditWrites(log, await countsOn(b, table)),
      reads: reads.ok,
      readsFailed: reads.failed.length,
      ackedAfterPromotion: after.length,
      resumedAfterPromotionMs: after.length > 0 ? Math.min(...after) - promotedAt : Number.POSITIVE_INFINITY,
    }
  }
  return { lifespan: await side(l1, lr1, ours), cluster: await side(l2, lr2, theirs) }
}
