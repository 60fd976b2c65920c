/**
 * Every measured fault, against real servers: a disposable MariaDB for the destructive
 * ones, a loopback fault proxy for network faults. Each scenario also runs a plain mysql2
 * pool under the same fault and asserts that it fails, so a passing test proves the fault
 * was really injected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runScenario, throughProxy, type FaultEnv } from '../../demo/scenarios.js'
import { type DisposableServer, startDisposableServer } from '../support/disposable-server.js'
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js'
import { lifespanFor, sleep, tableName } from '../support/env.js'

let server: DisposableServer
let proxy: FaultProxy
let env: FaultEnv

beforeAll(async () => {
  server = await startDisposableServer()
  proxy = await startFaultProxy({ host: server.host, port: server.port })
  env = { server, url: server.url, proxy }
})

afterAll(async () => {
  await proxy?.close()
  await server?.stop()
})

describe('measured faults: plain mysql2 fails, mysql-lifespan does not', () => {
  it('idle past wait_timeout while the event loop was busy', async () => {
    const r = await runScenario('idle', env)
    expect(r.plain.failed).toBeGreaterThan(0)
    expect(r.lifespan).toMatchObject({ ok: 20, failed: 0, hung: 0 })
  })

  it('KILL of every pooled connection (pipelined)', async () => {
    const r = await runScenario('kill', env)
    expect(r.plain.failed).toBeGreaterThan(0)
    expect(r.lifespan).toMatchObject({ ok: 20, failed: 0, hung: 0 })
  })

  it('server restart while the event loop was busy', async () => {
    const r = await runScenario('restart', env)
    expect(r.plain.failed).toBeGreaterThan(0)
    expect(r.lifespan).toMatchObject({ ok: 20, failed: 0, hung: 0 })
  })

  it('MySQL 8 ER_CLIENT_INTERACTION_TIMEOUT (4031) as the reply to in-flight reads', async () => {
    const r = await runScenario('interaction-timeout', env)
    expect(r.plain.codes.ER_CLIENT_INTERACTION_TIMEOUT).toBeGreaterThan(0)
    expect(r.lifespan).toMatchObject({ ok: 20, failed: 0, hung: 0 })
  })

  it('a stalled path: plain hangs, mysql-lifespan settles every call within pingTimeoutMs + acquireTimeoutMs', async () => {
    const r = await runScenario('stall', env)
    expect(r.plain.hung).toBe(20)
    expect(r.lifespan).toMatchObject({ ok: 20, failed: 0, hung: 0 })
    // defaults: pingTimeoutMs 1000 + acquireTimeoutMs 10000
    expect(r.lifespan.lastSettledMs).toBeLessThan(11_000)
  }, 40_000)
})

describe('writes are never doubled, reads are retried', () => {
  it('a response cut after a write was executed: the caller gets the error, the row exists once', async () => {
    const t = tableName('cutw')
    await server.query(`CREATE TABLE test.${t} (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20)) ENGINE=InnoDB`)
    const lifespan = lifespanFor({ url: throughProxy(server.url, proxy) })
    await lifespan.startup()
    const cut = proxy.cutNextResponse((sql) => sql.includes(`INSERT INTO ${t}`))
    const err = await lifespan.db().query(`INSERT INTO ${t} (v) VALUES ('once')`).catch((e: unknown) => e)
    await cut
    expect(err).toMatchObject({ code: expect.stringMatching(/PROTOCOL_CONNECTION_LOST|ECONNRESET|EPIPE/) })
    const rows = (await server.query(`SELECT COUNT(*) AS c FROM test.${t} WHERE v = 'once'`)) as Array<{ c: number }>
    expect(Number(rows[0]!.c)).toBe(1)
    // The next statement gets a fresh connection.
    await expect(lifespan.db().query('SELECT 1')).resolves.toBeDefined()
  })

  it('a statement marked idempotent is re-run after a cut', async () => {
    const t = tableName('cuti')
    await server.query(`CREATE TABLE test.${t} (id INT PRIMARY KEY, v INT) ENGINE=InnoDB`)
    const lifespan = lifespanFor({ url: throughProxy(server.url, proxy) })
    await lifespan.startup()
    void proxy.cutNextResponse((sql) => sql.includes(`REPLACE INTO ${t}`))
    await lifespan.db().query(`REPLACE INTO ${t} VALUES (1, 5)`, undefined, { idempotent: true })
    const rows = (await server.query(`SELECT v FROM test.${t}`)) as Array<{ v: number }>
    expect(rows).toEqual([{ v: 5 }])
    expect(lifespan.stats().aliases.default!.retries).toBe(1)
  })

  it('a response cut after a read: retried transparently on a fresh connection', async () => {
    const lifespan = lifespanFor({ url: throughProxy(server.url, proxy) })
    await lifespan.startup()
    const cut = proxy.cutNextResponse((sql) => sql.includes('cut_read_probe'))
    const [rows] = await lifespan.db().query<Array<{ v: number }>>('SELECT 7 AS v, "cut_read_probe" AS p')
    await cut
    expect(rows[0]!.v).toBe(7)
    expect(lifespan.stats().aliases.default!.retries).toBe(1)
    expect(lifespan.stats().aliases.default!.destroyed.broken).toBeGreaterThanOrEqual(1)
  })

  it('retry: false surfaces the read\'s disconnect instead', async () => {
    const lifespan = lifespanFor({ url: throughProxy(server.url, proxy), retry: false })
    await lifespan.startup()
    void proxy.cutNextResponse((sql) => sql.includes('cut_read_probe2'))
    await expect(lifespan.db().query('SELECT "cut_read_probe2"')).rejects.toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' })
  })

  it('a disconnect during COMMIT rejects with COMMIT_OUTCOME_UNKNOWN and is never re-run', async () => {
    const t = tableName('cutc')
    await server.query(`CREATE TABLE test.${t} (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20)) ENGINE=InnoDB`)
    const lifespan = lifespanFor({ url: throughProxy(server.url, proxy) })
    await lifespan.startup()
    let attempts = 0
    void proxy.cutNextResponse((sql) => sql === 'COMMIT')
    const err = await lifespan
      .db()
      .transaction(async (tx) => {
        attempts++
        await tx.query(`INSERT INTO ${t} (v) VALUES ('tx')`)
      }, { retries: 3 })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_LIFESPAN_COMMIT_OUTCOME_UNKNOWN', cause: expect.objectContaining({ code: 'PROTOCOL_CONNECTION_LOST' }) })
    expect(attempts).toBe(1)
    const rows = (await server.query(`SELECT COUNT(*) AS c FROM test.${t}`)) as Array<{ c: number }>
    expect(Number(rows[0]!.c)).toBe(1) // the server did commit: exactly once, never twice
  })

  it('a disconnect before COMMIT re-runs the whole transaction once', async () => {
    const t = tableName('cutb')
    await server.query(`CREATE TABLE test.${t} (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20)) ENGINE=InnoDB`)
    const lifespan = lifespanFor({ url: throughProxy(server.url, proxy) })
    await lifespan.startup()
    let attempts = 0
    void proxy.cutNextResponse((sql) => sql.includes(`INSERT INTO ${t}`))
    await lifespan.db().transaction(async (tx) => {
      attempts++
      await tx.query(`INSERT INTO ${t} (v) VALUES ('tx')`)
    }, { retries: 2 })
    expect(attempts).toBe(2)
    const rows = (await server.query(`SELECT COUNT(*) AS c FROM test.${t}`)) as Array<{ c: number }>
    expect(Number(rows[0]!.c)).toBe(1) // the cut attempt was rolled back by the server
  })
})

describe('validation and timeouts', () => {
  it('a restart costs one failed ping, not one per pooled connection (generation invalidation)', async () => {
    const lifespan = lifespanFor({ url: `${server.url}?connectionLimit=5`, aliveBypassMs: 60_000 })
    await Promise.all(Array.from({ length: 5 }, () => lifespan.scope(() => lifespan.db().query('SELECT SLEEP(0.02)'))))
    expect(lifespan.stats().aliases.default!.open).toBe(5)
    await server.restart()
    await sleep(100)
    // The loop was free: each connection's close was seen, and the first one invalidated the rest.
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => lifespan.scope(() => lifespan.db().query('SELECT 1'))))
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0)
  })

  it('pings a suspect connection even inside the alive-bypass window after a disconnect was seen', async () => {
    const lifespan = lifespanFor({ url: `${server.url}?connectionLimit=2`, aliveBypassMs: 60_000 })
    const ids = await Promise.all([1, 2].map(() =>
      lifespan.scope(async () => {
        const [rows] = await lifespan.db().query<Array<{ id: number }>>('SELECT CONNECTION_ID() AS id, SLEEP(0.05)')
        return Number(rows[0]!.id)
      }),
    ))
    const pingsBefore = lifespan.stats().aliases.default!.pings
    await server.query(`KILL CONNECTION ${ids[0]}`)
    await sleep(100)
    await lifespan.scope(() => lifespan.db().query('SELECT 1'))
    expect(lifespan.stats().aliases.default!.pings).toBeGreaterThan(pingsBefore)
  })

  it('idle past the server\'s own wait_timeout: replaced without a ping', async () => {
    const lifespan = lifespanFor({ url: server.url })
    await server.query('SET GLOBAL wait_timeout = 1')
    try {
      await lifespan.scope(() => lifespan.db().query('SELECT 1')) // new connection reads wait_timeout = 1
      await sleep(700) // past 1 s minus the 500 ms margin, before the server's reset
      const pings = lifespan.stats().aliases.default!.pings
      await lifespan.scope(() => lifespan.db().query('SELECT 1'))
      const stats = lifespan.stats().aliases.default!
      expect(stats.destroyed.idle).toBe(1)
      expect(stats.pings).toBe(pings)
    } finally {
      await server.query('SET GLOBAL wait_timeout = 28800')
    }
  })

  it('mysql2\'s own per-query timeout: the wedged connection is destroyed, the read is not re-run', async () => {
    const lifespan = lifespanFor({ url: server.url })
    await expect(lifespan.db().query({ sql: 'SELECT SLEEP(2)', timeout: 200 })).rejects.toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' })
    const stats = lifespan.stats().aliases.default!
    expect(stats.destroyed.broken).toBe(1)
    expect(stats.retries).toBe(0)
    await expect(lifespan.db().query('SELECT 1')).resolves.toBeDefined()
  })

  it('acquireTimeoutMs bounds acquisition through a dead path; the error carries pool counts and the last cause', async () => {
    const lifespan = lifespanFor({ url: throughProxy(server.url, proxy), acquireTimeoutMs: 1_500, aliveBypassMs: 0 })
    await lifespan.startup()
    proxy.stall()
    try {
      const started = Date.now()
      const err = (await lifespan.db().query('SELECT 1').catch((e: unknown) => e)) as Error & { code: string; pool: unknown; cause: unknown }
      const elapsed = Date.now() - started
      expect(err.code).toBe('ERR_LIFESPAN_ACQUIRE_TIMEOUT')
      expect(err.message).toMatch(/open=\d+, inUse=\d+, waiting=\d+/)
      expect(err.pool).toMatchObject({ waiting: 1 })
      expect(err.cause).toBeDefined()
      expect(elapsed).toBeLessThan(1_500 + 500)
    } finally {
      proxy.resume()
    }
  })

  it('a refused server is retried with backoff until it comes back', async () => {
    const other = await startDisposableServer()
    try {
      const lifespan = lifespanFor({ url: other.url, acquireTimeoutMs: 8_000 })
      await lifespan.startup()
      const restarting = other.restart({ downMs: 800 })
      await sleep(100)
      const [rows] = await lifespan.db().query<Array<{ v: number }>>('SELECT 3 AS v')
      expect(rows[0]!.v).toBe(3)
      await restarting
    } finally {
      await other.stop()
    }
  })
})

