/**
 * A 3-node MariaDB Galera cluster on loopback (started here): steady traffic, a certification
 * conflict re-run by `transaction(fn, { retries })`, a node forced out of the primary component
 * (1047 on every statement) and the node in use killed -9 under load. A plain mysql2 connection
 * or PoolCluster runs beside each step.
 */
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lifespan } from '../../src/index.js'
import type { DisposableServer } from '../support/disposable-server.js'
import { lifespanFor, sleep, tableName } from '../support/env.js'
import { auditWrites, readerLoop, writerLoop } from '../support/topology-load.js'
import { APP_USER, type GaleraCluster, startGaleraCluster, waitFor } from '../support/topology.js'

let cluster: GaleraCluster
let started = 0

beforeAll(async () => {
  started = performance.now()
  cluster = await startGaleraCluster(3)
  console.info(`galera.test: cluster formed in ${(performance.now() - started).toFixed(0)} ms`)
}, 120_000)

afterAll(async () => {
  await cluster?.stop()
  console.info(`galera.test: whole file ${(performance.now() - started).toFixed(0)} ms`)
})

function galeraLifespan(): Lifespan {
  return lifespanFor({ databases: { default: { ...APP_USER, database: 'test', hosts: cluster.nodes.map((n) => cluster.address(n)) } } })
}

async function createTable(prefix: string, columns = 'id INT AUTO_INCREMENT PRIMARY KEY, seq INT NOT NULL'): Promise<string> {
  const table = tableName(prefix)
  await (cluster.nodes[0] as DisposableServer).query(`CREATE TABLE test.${table} (${columns})`)
  return table
}

/** A read that first waits until `node` has applied every write the cluster certified (Galera applies asynchronously). */
async function synced<T>(node: DisposableServer, sql: string): Promise<T> {
  const conn = await mysql.createConnection({ host: node.host, port: node.port, user: 'root', database: 'test' })
  try {
    await conn.query('SET SESSION wsrep_sync_wait = 1')
    return (await conn.query(sql))[0] as T
  } finally {
    await conn.end()
  }
}

async function counts(node: DisposableServer, table: string): Promise<Map<number, number>> {
  const rows = await synced<Array<{ seq: number; n: number }>>(node, `SELECT seq, COUNT(*) AS n FROM ${table} GROUP BY seq`)
  return new Map(rows.map((r) => [Number(r.seq), Number(r.n)]))
}

function writerKey(lifespan: Lifespan): string | undefined {
  const hosts = lifespan.stats().aliases.default?.hosts ?? {}
  return Object.entries(hosts).find(([, h]) => h.role === 'writer')?.[0]
}

describe('Galera cluster (3 nodes)', () => {
  it('a certification conflict (1213 at COMMIT) is re-run by transaction(fn, { retries }); plain mysql2 gets the error', async () => {
    const lifespan = galeraLifespan()
    await lifespan.startup()
    const table = await createTable('cert', 'id INT PRIMARY KEY, v INT NOT NULL')
    const [n1, n2] = cluster.nodes as [DisposableServer, DisposableServer]
    await n1.query(`INSERT INTO test.${table} VALUES (1, 0), (2, 0)`)
    expect(writerKey(lifespan)).toBe(cluster.address(n1))

    let attempts = 0
    await lifespan.scope(() =>
      lifespan.db().transaction(async (tx) => {
        attempts++
        await tx.query(`UPDATE ${table} SET v = v + 1 WHERE id = 1`)
        // Another node commits a conflicting write first: this transaction loses certification.
        if (attempts === 1) await n2.query(`UPDATE test.${table} SET v = v + 10 WHERE id = 1`)
      }, { retries: 2 }),
    )
    // 0, then +10 from the other node, then +1 from the second attempt only: the first was not applied.
    expect(attempts).toBe(2)
    expect(await synced(n2, `SELECT v FROM ${table} WHERE id = 1`)).toEqual([{ v: 11 }])

    const plain = await mysql.createConnection({ host: n1.host, port: n1.port, ...APP_USER, database: 'test' })
    await plain.query('START TRANSACTION')
    await plain.query(`UPDATE ${table} SET v = v + 1 WHERE id = 2`)
    await n2.query(`UPDATE test.${table} SET v = v + 10 WHERE id = 2`)
    await expect(plain.query('COMMIT')).rejects.toMatchObject({ errno: 1213 })
    await plain.end()
  })

  it('other nodes listed as replicas take the plain reads; writes and reads after a write stay on the writer node', async () => {
    const [n1, n2, n3] = cluster.nodes as [DisposableServer, DisposableServer, DisposableServer]
    const lifespan = lifespanFor({
      databases: { default: { ...APP_USER, database: 'test', hosts: [cluster.address(n1)], replicas: [cluster.address(n2), cluster.address(n3)] } },
    })
    await lifespan.startup()
    const table = await createTable('greads')
    const NODE = "SELECT VARIABLE_VALUE AS name FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'WSREP_NODE_NAME'"
    const name = async (): Promise<string> => String((await lifespan.db().query<Array<{ name: string }>>(NODE))[0][0]?.name)
    const seen = new Set<string>()
    for (let i = 0; i < 10; i++) seen.add(await lifespan.scope(name))
    expect([...seen].sort()).toEqual(['node2', 'node3'])
    const afterWrite = await lifespan.scope(async () => {
      await lifespan.db().execute(`INSERT INTO ${table} (seq) VALUES (1)`)
      return name()
    })
    expect(afterWrite).toBe('node1')
  })

  it('a node forced out of the primary component (1047) is left; its refused statements re-run on another node', async () => {
    const lifespan = galeraLifespan()
    await lifespan.startup()
    const table = await createTable('isolate')
    const [n1, n2, n3] = cluster.nodes as [DisposableServer, DisposableServer, DisposableServer]
    expect(writerKey(lifespan)).toBe(cluster.address(n1))
    // PoolCluster over the same nodes: n1 still answers pings, so it keeps being chosen.
    const pc = mysql.createPoolCluster({ restoreNodeTimeout: 1_000 })
    for (const [i, n] of [n1, n2, n3].entries()) pc.add(`N${i}`, { host: n.host, port: n.port, ...APP_USER, database: 'test', connectionLimit: 2 })
    const pcWriters = pc.of('*', 'ORDER')
    const theirs = await createTable('isolate_pc')

    const mine = writerLoop((seq) => lifespan.scope(() => lifespan.db().execute(`INSERT INTO ${table} (seq) VALUES (?)`, [seq])))
    const plain = writerLoop((seq) => pcWriters.query(`INSERT INTO ${theirs} (seq) VALUES (?)`, [seq]))
    const reads = readerLoop(() => lifespan.scope(() => lifespan.db().query(`SELECT COUNT(*) AS n FROM ${table}`)), 2, 10)
    await sleep(500)
    await cluster.isolate(n1)
    const isolatedAt = Date.now()
    await waitFor('writes to move off the isolated node', async () => writerKey(lifespan) !== cluster.address(n1))
    await sleep(1_000)
    const [mineLog, plainLog, readLog] = await Promise.all([mine.stop(), plain.stop(), reads.stop()])
    await pc.end().catch(() => undefined)
    await cluster.rejoin(n1)

    const audit = auditWrites(mineLog, await counts(n2, table))
    const pcAudit = auditWrites(plainLog, await counts(n2, theirs))
    const pcAfter = [...plainLog.acked.values()].filter((t) => t > isolatedAt).length
    console.info(
      `galera isolate: mysql-lifespan acked ${audit.acked}, lost ${audit.lost.length}, doubled ${audit.doubled.length}, gap ${audit.gapMs} ms, failed ${JSON.stringify(audit.failedByCode)}, reads ${readLog.ok} ok / ${readLog.failed.length} failed, writer now ${writerKey(lifespan)}; ` +
        `PoolCluster acked ${pcAudit.acked} (${pcAfter} after isolation), failed ${JSON.stringify(pcAudit.failedByCode)}`,
    )
    expect(audit.lost).toEqual([])
    expect(audit.doubled).toEqual([])
    expect(readLog.failed).toEqual([])
    expect(Object.keys(audit.failedByCode).every((c) => !c.startsWith('(no code)'))).toBe(true)
    expect(pcAudit.failedByCode.ER_UNKNOWN_COM_ERROR).toBeGreaterThan(0)
    expect(pcAfter).toBe(0)
  }, 60_000)

  it('kill -9 of the node in use under load: no read fails, acknowledged writes exactly once on the survivors', async () => {
    const lifespan = galeraLifespan()
    await lifespan.startup()
    const table = await createTable('gkill')
    const victimKey = writerKey(lifespan)
    const victim = cluster.nodes.find((n) => cluster.address(n) === victimKey) as DisposableServer
    expect(victim).toBeDefined()
    const mine = writerLoop((seq) => lifespan.scope(() => lifespan.db().execute(`INSERT INTO ${table} (seq) VALUES (?)`, [seq])))
    const reads = readerLoop(() => lifespan.scope(() => lifespan.db().query(`SELECT COUNT(*) AS n FROM ${table}`)), 3, 5)
    await sleep(500)
    await cluster.kill(victim)
    await sleep(1_000)
    const [mineLog, readLog] = await Promise.all([mine.stop(), reads.stop()])
    const survivors = cluster.nodes
    const audits = await Promise.all(survivors.map(async (n) => auditWrites(mineLog, await counts(n, table))))
    console.info(
      `galera kill -9 of the writer: acked ${audits[0]?.acked}, lost ${audits.map((a) => a.lost.length).join('/')}, doubled ${audits.map((a) => a.doubled.length).join('/')}, gap ${audits[0]?.gapMs} ms, failed ${JSON.stringify(audits[0]?.failedByCode)} (applied anyway: ${audits[0]?.failedButApplied}), reads ${readLog.ok} ok / ${readLog.failed.length} failed, writer now ${writerKey(lifespan)}`,
    )
    for (const a of audits) {
      expect(a.lost).toEqual([])
      expect(a.doubled).toEqual([])
    }
    expect(readLog.failed).toEqual([])
    expect(writerKey(lifespan)).not.toBe(victimKey)
  }, 60_000)
})
