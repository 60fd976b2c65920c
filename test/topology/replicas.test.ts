/**
 * Read replicas on a real GTID replication set (a primary and two replicas on loopback, started
 * here): routing per scope, lag, causal reads, bad topology input, and a replica killed under load.
 * Each scenario runs plain mysql2 beside mysql-lifespan to show what goes wrong without it.
 */
import { createServer, type Server, type Socket } from 'node:net'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lifespan } from '../../src/index.js'
import { type DisposableServer, startDisposableServer } from '../support/disposable-server.js'
import { lifespanFor, sleep, tableName } from '../support/env.js'
import { readerLoop } from '../support/topology-load.js'
import { APP_USER, type ReplicationSet, serverId, startReplicationSet, waitFor } from '../support/topology.js'

/** A plain read (no `@`), so it may go to a replica. */
const SERVER_ID = "SELECT VARIABLE_VALUE AS id FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = 'SERVER_ID'"

let set: ReplicationSet
let stranger: DisposableServer
let blackhole: Server
let blackholePort: number
const sockets = new Set<Socket>()
const ids = new Map<DisposableServer, number>()
let started = 0

beforeAll(async () => {
  started = performance.now()
  ;[set, stranger] = await Promise.all([startReplicationSet({ replicas: 2 }), startDisposableServer()])
  for (const n of set.nodes) ids.set(n, await serverId(n))
  // Accepts TCP and never says a word: a host that never answers.
  blackhole = createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve))
  blackholePort = (blackhole.address() as { port: number }).port
  console.info(`replicas.test: topology up in ${(performance.now() - started).toFixed(0)} ms`)
})

afterAll(async () => {
  for (const s of sockets) s.destroy()
  blackhole?.close()
  await Promise.all([set?.stop(), stranger?.stop()])
  console.info(`replicas.test: whole file ${(performance.now() - started).toFixed(0)} ms`)
})

function topologyLifespan(extra: Record<string, unknown> = {}): Lifespan {
  const p = set.primary
  return lifespanFor({
    databases: {
      default: { host: p.host, port: p.port, ...APP_USER, database: 'test', replicas: set.replicas.map((r) => set.address(r)), ...extra },
    },
  })
}

async function idOf(lifespan: Lifespan): Promise<number> {
  const [rows] = await lifespan.db().query<Array<{ id: string }>>(SERVER_ID)
  return Number(rows[0]?.id)
}

async function createTable(prefix: string): Promise<string> {
  const table = tableName(prefix)
  await set.primary.query(`CREATE TABLE test.${table} (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)`)
  await set.sync()
  return table
}

describe('read replicas (GTID primary + 2 replicas)', () => {
  it('routes plain reads to replicas, reads after a write and in a transaction to the primary', async () => {
    const lifespan = topologyLifespan()
    await lifespan.startup()
    const table = await createTable('route')
    const primaryId = ids.get(set.primary)
    const replicaIds = set.replicas.map((r) => ids.get(r))

    const seen = await lifespan.scope(async () => {
      const before = await idOf(lifespan)
      await lifespan.db().execute(`INSERT INTO ${table} (v) VALUES (1)`)
      const after = await idOf(lifespan)
      const [rows] = await lifespan.db().query<Array<{ n: number }>>(`SELECT COUNT(*) AS n FROM ${table}`)
      return { before, after, count: rows[0]?.n }
    })
    expect(replicaIds).toContain(seen.before)
    expect(seen.after).toBe(primaryId)
    // The scope reads its own write (on the primary), whatever the replicas have applied.
    expect(seen.count).toBe(1)

    const inTx = await lifespan.scope(() => lifespan.db().transaction(async (tx) => {
      const [rows] = await tx.query<Array<{ id: string }>>(SERVER_ID)
      return Number(rows[0]?.id)
    }))
    expect(inTx).toBe(primaryId)

    // Reads of fresh scopes spread over both replicas.
    const spread = new Map<number, number>()
    for (let i = 0; i < 40; i++) {
      const id = await lifespan.scope(() => idOf(lifespan))
      spread.set(id, (spread.get(id) ?? 0) + 1)
    }
    const hosts = lifespan.stats().aliases.default?.hosts ?? {}
    console.info('routing of 40 read scopes by server_id:', Object.fromEntries(spread), 'per host:', Object.fromEntries(Object.entries(hosts).map(([k, h]) => [k, { role: h.role, state: h.state, readsRouted: h.readsRouted, statements: h.statements }])))
    expect([...spread.keys()].sort()).toEqual([...replicaIds].sort())
    expect(hosts[set.address(set.primary)]).toMatchObject({ role: 'writer', state: 'writable' })
    for (const r of set.replicas) expect(hosts[set.address(r)]).toMatchObject({ role: 'replica', state: 'healthy' })
  })

  it('skips a replica whose SQL thread stopped, and takes it back once it caught up', async () => {
    const lifespan = topologyLifespan({ maxReplicaLagMs: 500 })
    await lifespan.startup()
    const table = await createTable('sqlstop')
    const [stopped, other] = set.replicas as [DisposableServer, DisposableServer]
    await set.stopSqlThread(stopped)
    try {
      await set.primary.query(`INSERT INTO test.${table} (v) VALUES (42)`)
      await waitFor('the other replica to apply the row', async () => ((await other.query(`SELECT COUNT(*) AS n FROM test.${table}`)) as Array<{ n: number }>)[0]?.n === 1)
      await waitFor('the stopped replica to be skipped', async () => lifespan.stats().aliases.default?.hosts?.[set.address(stopped)]?.state === 'not-replicating')

      // Plain mysql2 on that replica: stale.
      const plain = mysql.createPool({ host: stopped.host, port: stopped.port, ...APP_USER, database: 'test' })
      const [plainRows] = await plain.query(`SELECT COUNT(*) AS n FROM ${table}`)
      await plain.end()
      expect((plainRows as Array<{ n: number }>)[0]?.n).toBe(0)

      const counts = []
      for (let i = 0; i < 20; i++) {
        counts.push(await lifespan.scope(async () => (await lifespan.db().query<Array<{ n: number }>>(`SELECT COUNT(*) AS n FROM ${table}`))[0][0]?.n))
      }
      expect(counts.every((n) => n === 1)).toBe(true)
    } finally {
      await set.startSqlThread(stopped)
    }
    await waitFor('the replica to be taken back', async () => lifespan.stats().aliases.default?.hosts?.[set.address(stopped)]?.state === 'healthy')
  })

  it('skips a replica that lags (SQL thread blocked) past maxReplicaLagMs, measured by GTID position', async () => {
    const lifespan = topologyLifespan({ maxReplicaLagMs: 400 })
    await lifespan.startup()
    const table = await createTable('lag')
    const [blocked] = set.replicas as [DisposableServer, DisposableServer]
    const lock = await mysql.createConnection({ host: blocked.host, port: blocked.port, user: 'root', database: 'test' })
    await lock.query('FLUSH TABLES WITH READ LOCK')
    try {
      await set.primary.query(`INSERT INTO test.${table} (v) VALUES (7)`)
      await waitFor('the blocked replica to be skipped as lagging', async () => lifespan.stats().aliases.default?.hosts?.[set.address(blocked)]?.state === 'lagging')
      const [status] = (await blocked.query('SHOW SLAVE STATUS')) as Array<{ Slave_SQL_Running: string }>
      // The SQL thread still "runs": only the position comparison shows the lag.
      expect(status?.Slave_SQL_Running).toBe('Yes')
      const lag = lifespan.stats().aliases.default?.hosts?.[set.address(blocked)]?.lagMs
      expect(lag).toBeGreaterThan(400)
    } finally {
      await lock.query('UNLOCK TABLES')
      await lock.end()
    }
    await waitFor('the replica to catch up and be taken back', async () => lifespan.stats().aliases.default?.hosts?.[set.address(blocked)]?.state === 'healthy')
  })

  it('causal reads: a later scope that got the token reads the write, even from lagging replicas', async () => {
    // Lag under maxReplicaLagMs: the replicas stay in rotation while they are behind.
    const lifespan = topologyLifespan({ maxReplicaLagMs: 5_000 })
    await lifespan.startup()
    const table = await createTable('causal')
    const locks = await Promise.all(set.replicas.map((r) => mysql.createConnection({ host: r.host, port: r.port, user: 'root', database: 'test' })))
    let token = ''
    try {
      for (const l of locks) await l.query('FLUSH TABLES WITH READ LOCK')
      token = await lifespan.scope(async () => {
        await lifespan.db().execute(`INSERT INTO ${table} (v) VALUES (99)`)
        return lifespan.db().causalToken()
      })
      expect(token).toMatch(/^\d+-\d+-\d+/)
      const count = `SELECT COUNT(*) AS n FROM ${table}`
      // Without the token the next scope reads a replica that has not applied the write yet.
      const [[blind]] = await lifespan.scope(() => lifespan.db().query<Array<{ n: number }>>(count))
      expect(blind?.n).toBe(0)
      // With it, the replica waits (bounded), then the primary answers.
      const [[causal]] = await lifespan.scope(() => {
        lifespan.db().after(token)
        return lifespan.db().query<Array<{ n: number }>>(count)
      })
      expect(causal?.n).toBe(1)
    } finally {
      for (const l of locks) {
        await l.query('UNLOCK TABLES')
        await l.end()
      }
    }
    // Replicas that caught up serve the causal read themselves.
    const before = Object.values(lifespan.stats().aliases.default?.hosts ?? {}).filter((h) => h.role === 'replica').reduce((a, h) => a + h.readsRouted, 0)
    const [[again]] = await lifespan.scope(() => {
      lifespan.db().after(token)
      return lifespan.db().query<Array<{ n: number }>>(`SELECT COUNT(*) AS n FROM ${table}`)
    })
    expect(again?.n).toBe(1)
    const afterReads = Object.values(lifespan.stats().aliases.default?.hosts ?? {}).filter((h) => h.role === 'replica').reduce((a, h) => a + h.readsRouted, 0)
    expect(afterReads).toBe(before + 1)
    expect(() => lifespan.db().after('not a token')).toThrow(expect.objectContaining({ code: 'ERR_LIFESPAN_INVALID_ARGUMENT' }))
  })

  it('bad hosts are excluded with a log line, never a hang: no answer, wrong credentials, a writable "replica"', async () => {
    const warnings: string[] = []
    const logger = { warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)), error: (_o: unknown, msg?: string) => void warnings.push(String(msg)) }
    const p = set.primary
    const r1 = set.replicas[0] as DisposableServer
    const lifespan = lifespanFor({
      databases: {
        // `stranger` has no app user: wrong credentials there.
        default: { ...APP_USER, database: 'test', hosts: [`127.0.0.1:${blackholePort}`, set.address(p)], replicas: [set.address(r1), set.address(stranger), `127.0.0.1:${blackholePort}`], logger },
        // As root, `stranger` logs in: a writable server that replicates from nobody.
        rooted: { user: 'root', database: 'test', host: p.host, port: p.port, replicas: [set.address(stranger), set.address(r1)], logger },
      },
      acquireTimeoutMs: 3_000,
    })
    await lifespan.startup()
    const table = await createTable('bad')
    await lifespan.scope(() => lifespan.db().execute(`INSERT INTO ${table} (v) VALUES (1)`))
    const r1Id = ids.get(r1)
    for (let i = 0; i < 6; i++) expect(await lifespan.scope(() => idOf(lifespan))).toBe(r1Id)
    const rooted = async (): Promise<number> => Number((await lifespan.db('rooted').query<Array<{ id: string }>>(SERVER_ID))[0][0]?.id)
    for (let i = 0; i < 6; i++) expect(await lifespan.scope(rooted)).toBe(r1Id)
    const hosts = lifespan.stats().aliases.default?.hosts ?? {}
    expect(hosts[`127.0.0.1:${blackholePort}`]).toMatchObject({ state: 'down' })
    expect(hosts[set.address(stranger)]).toMatchObject({ state: 'down' })
    expect(lifespan.stats().aliases.rooted?.hosts?.[set.address(stranger)]).toMatchObject({ state: 'not-replicating' })
    expect(warnings.some((w) => w.includes('writable server with no replication'))).toBe(true)
    expect(warnings.some((w) => w.includes(`127.0.0.1:${blackholePort}`))).toBe(true)
  })

  it('no writable host: writes reject with ERR_LIFESPAN_NO_WRITABLE_HOST within acquireTimeoutMs, reads still served', async () => {
    const lifespan = topologyLifespan({ acquireTimeoutMs: 1_500 })
    await lifespan.startup()
    const table = await createTable('nowriter')
    await set.setReadOnly(set.primary, true, { killConnections: true })
    // Let the kills reach the client: a write sent on a connection killed a moment earlier fails as
    // a disconnect (outcome unknown, never re-run), which is not what this test is about.
    await sleep(200)
    try {
      const t0 = Date.now()
      const err = await lifespan.scope(() => lifespan.db().execute(`INSERT INTO ${table} (v) VALUES (1)`)).catch((e: unknown) => e)
      const elapsed = Date.now() - t0
      expect(err).toMatchObject({ code: 'ERR_LIFESPAN_NO_WRITABLE_HOST' })
      // A hang guard, not a timing target: the 1.5 s budget plus scheduling slack on a loaded machine.
      expect(elapsed).toBeLessThan(1_500 + 1_000)
      if (process.env.SHOW_TIMINGS) console.log('no writable host rejected after', elapsed, 'ms')
      const replicaIds = set.replicas.map((r) => ids.get(r))
      expect(replicaIds).toContain(await lifespan.scope(() => idOf(lifespan)))
      // Plain mysql2 against the same primary: the write is refused (1290) on every attempt, with no way to move.
      const plain = mysql.createPool({ host: set.primary.host, port: set.primary.port, ...APP_USER, database: 'test' })
      await expect(plain.execute(`INSERT INTO ${table} (v) VALUES (1)`)).rejects.toMatchObject({ errno: 1290 })
      await plain.end()
    } finally {
      await set.setReadOnly(set.primary, false)
    }
    await lifespan.scope(() => lifespan.db().execute(`INSERT INTO ${table} (v) VALUES (2)`))
  })

  it('a writer whose every connection is busy for longer than a host attempt is waited for, not left', async () => {
    const lifespan = topologyLifespan({ connectionLimit: 1 })
    await lifespan.startup()
    const table = await createTable('busy')
    const writer = set.address(set.primary)
    const pingsBefore = lifespan.stats().aliases.default?.hosts?.[writer]?.pings ?? 0
    // Holds the writer's only connection for 1.5 s (a host attempt gives up after 1 s).
    const holder = lifespan.scope(async () => {
      await lifespan.db().execute(`INSERT INTO ${table} (v) VALUES (1)`)
      await sleep(1_500)
    })
    await sleep(50)
    await lifespan.scope(() => lifespan.db().execute(`INSERT INTO ${table} (v) VALUES (2)`))
    await holder
    const host = lifespan.stats().aliases.default?.hosts?.[writer]
    expect(host).toMatchObject({ role: 'writer', state: 'writable' })
    // Waiting for a slot made no connection suspect: nothing was pinged for it.
    expect(host?.pings).toBe(pingsBefore)
    expect(await set.primary.query(`SELECT v FROM test.${table} ORDER BY v`)).toEqual([{ v: 1 }, { v: 2 }])
  })

  it('shutdown closes the connections of every host and stops the probes', async () => {
    const lifespan = topologyLifespan()
    await lifespan.startup()
    for (let i = 0; i < 4; i++) await lifespan.scope(() => idOf(lifespan))
    await lifespan.scope(() => lifespan.db().query('DO 1'))
    const open = async (): Promise<number[]> => (await Promise.all(set.nodes.map((n) => n.connectionIds('app')))).map((l) => l.length)
    expect((await open()).every((n) => n > 0)).toBe(true)
    await lifespan.shutdown()
    await waitFor('every app connection to be gone from every host', async () => (await open()).every((n) => n === 0), 5_000)
    // No probe reconnects afterwards.
    await sleep(1_200)
    expect(await open()).toEqual([0, 0, 0])
    expect(lifespan.stats().aliases.default?.open).toBe(0)
  })

  it('kill -9 of a replica under read load: no read fails (plain mysql2 on that replica: reads fail)', async () => {
    const lifespan = topologyLifespan()
    await lifespan.startup()
    const table = await createTable('killrep')
    await set.primary.query(`INSERT INTO test.${table} (v) VALUES (1), (2), (3)`)
    await set.sync()
    const victim = set.replicas[1] as DisposableServer
    const plain = mysql.createPool({ host: victim.host, port: victim.port, ...APP_USER, database: 'test', connectionLimit: 4 })
    const sql = `SELECT COUNT(*) AS n FROM ${table}`
    const ours = readerLoop(async () => {
      const [[row]] = await lifespan.scope(() => lifespan.db().query<Array<{ n: number }>>(sql))
      if (row?.n !== 3) throw Object.assign(new Error(`wrong count ${String(row?.n)}`), { code: 'WRONG_RESULT' })
    }, 6)
    const theirs = readerLoop(() => plain.query(sql), 4)
    await sleep(500)
    await set.kill(victim)
    await sleep(1_500)
    const [mine, plainLog] = await Promise.all([ours.stop(), theirs.stop()])
    await plain.end().catch(() => undefined)
    console.info(`kill -9 of a replica under read load: mysql-lifespan ${mine.ok} ok / ${mine.failed.length} failed; plain mysql2 on that replica ${plainLog.ok} ok / ${plainLog.failed.length} failed (${[...new Set(plainLog.failed.map((f) => f.code))].join(', ')})`)
    expect(mine.failed).toEqual([])
    expect(plainLog.failed.length).toBeGreaterThan(0)
    expect(lifespan.stats().aliases.default?.hosts?.[set.address(victim)]?.state).toBe('down')
  })
})
