/**
 * `queryTimeoutMs` stops the statement on the server. Read back afterwards: the processlist (no
 * thread still runs it) and the row (a timed-out write was not applied later). Plain mysql2's own
 * per-query `timeout` beside it: the caller gets an error while the server goes on and applies it.
 */
import mysql from 'mysql2/promise'
import { describe, expect, it } from 'vitest'
import { throughProxy } from '../../demo/scenarios.js'
import { serverBehindProxy } from '../support/server-behind-proxy.js'
import { admin, lifespanFor, runningAfter, sleep, tableName } from '../support/env.js'

const env = serverBehindProxy()

async function counterTable(): Promise<string> {
  const table = tableName('qt')
  await admin(`CREATE TABLE ${table} (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB`, [], env.server.url)
  await admin(`INSERT INTO ${table} VALUES (1, 0)`, [], env.server.url)
  return table
}

async function counter(table: string): Promise<number> {
  const rows = await admin<Array<{ n: number }>>(`SELECT n FROM ${table} WHERE id = 1`, [], env.server.url)
  return rows[0]!.n
}

/** Threads running a statement that contains `marker` on the file's server: see {@link runningAfter}. */
const running = (marker: string, withinMs = 0): Promise<number> => runningAfter(marker, withinMs, env.server.url)

describe('queryTimeoutMs stops the statement on the server', () => {
  it('a timed-out UPDATE rejects, no thread runs it afterwards, and the row is never updated', async () => {
    const table = await counterTable()
    const lifespan = lifespanFor({ url: env.server.url, queryTimeoutMs: 500 })
    await expect(lifespan.db().query(`UPDATE ${table} SET n = n + 1 WHERE id = 1 AND SLEEP(2) = 0 /* qt-update */`)).rejects.toMatchObject({
      code: 'ERR_LIFESPAN_QUERY_TIMEOUT',
    })
    // SLEEP(2): still running for about 1.5 s had the KILL missed it.
    expect(await running('qt-update', 750)).toBe(0)
    await sleep(2_500)
    expect(await counter(table)).toBe(0)
    // The connection was interrupted, not destroyed: it serves the next statement.
    await expect(lifespan.db().query('SELECT 1')).resolves.toBeDefined()
    expect(lifespan.stats().aliases.default!.destroyed.timeout).toBe(0)
  })

  it('plain mysql2 beside it: its timeout rejects but the server applies the update later', async () => {
    const table = await counterTable()
    const conn = await mysql.createConnection({ uri: env.server.url })
    try {
      await expect(conn.query({ sql: `UPDATE ${table} SET n = n + 1 WHERE id = 1 AND SLEEP(2) = 0 /* plain-update */`, timeout: 500 })).rejects.toMatchObject({
        code: 'PROTOCOL_SEQUENCE_TIMEOUT',
      })
      expect(await running('plain-update')).toBe(1)
      await sleep(2_500)
      expect(await counter(table)).toBe(1)
    } finally {
      conn.destroy()
    }
  })

  it('a timed-out SELECT rejects and no thread runs it afterwards', async () => {
    const lifespan = lifespanFor({ url: env.server.url, queryTimeoutMs: 300 })
    await expect(lifespan.db().query('SELECT SLEEP(5) AS s /* qt-select */')).rejects.toMatchObject({ code: 'ERR_LIFESPAN_QUERY_TIMEOUT' })
    expect(await running('qt-select', 1_000)).toBe(0)
    expect(lifespan.stats().aliases.default!.retries).toBe(0)
  })

  it('a burst of timeouts kills through one side connection at a time, not one per statement', async () => {
    const lifespan = lifespanFor({ databases: { default: { uri: env.server.url, connectionLimit: 8 } }, queryTimeoutMs: 300 })
    // Eight scopes at once open the pool's eight connections before the count starts.
    await Promise.all(Array.from({ length: 8 }, () => lifespan.scope(() => lifespan.db().query('SELECT SLEEP(0.1)'))))
    expect(lifespan.stats().aliases.default!.created).toBe(8)
    const connections = async (): Promise<number> =>
      Number((await admin<Array<{ Value: string }>>("SHOW GLOBAL STATUS LIKE 'Connections'", [], env.server.url))[0]!.Value)
    const before = await connections()
    const burst = Array.from({ length: 8 }, (_, i) => lifespan.scope(() => lifespan.db().query(`SELECT SLEEP(5) AS s /* burst-${i} */`)))
    const results = await Promise.allSettled(burst)
    expect(results.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_LIFESPAN_QUERY_TIMEOUT')).toBe(true)
    // New server connections meanwhile, other than the one reading the counter: the side connections for KILL.
    const side = (await connections()) - before - 1
    console.log(`burst: ${side} side connection(s) for 8 timeouts`)
    expect(await running('burst-', 1_000)).toBe(0)
    expect(lifespan.stats().aliases.default!.created).toBe(8)
    // One at a time, the ids that wait batched into the next: a few rounds, not one per statement
    // (the chaos soak checks the budget itself: never more than the pool limit plus one).
    expect(side).toBeGreaterThanOrEqual(1)
    expect(side).toBeLessThan(8)
  })

  it('a KILL whose side connection stalls after the handshake is given up within seconds; the timed-out statement queued behind it is still stopped on the server', async () => {
    const lifespan = lifespanFor({ url: throughProxy(env.server.url, env.proxy), queryTimeoutMs: 300, pingTimeoutMs: 300 })
    await lifespan.db().query('SELECT 1')
    // The first KILL QUERY's connection goes silent once its KILL is sent; later connections work.
    const held = env.proxy.holdNext((sql) => sql.startsWith('KILL QUERY'))
    try {
      const first = lifespan.db().query('SELECT SLEEP(5) AS s /* held-first */').then(() => undefined, (e: unknown) => e)
      await held
      const second = lifespan.db().query('SELECT SLEEP(5) AS s /* held-second */').then(() => undefined, (e: unknown) => e)
      // The first KILL never answered: its statement's connection is destroyed, the outcome unknown
      // (SLEEP() keeps a statement from counting as a plain read, so it is not a read's timeout).
      expect(await first).toMatchObject({ code: 'ERR_LIFESPAN_QUERY_OUTCOME_UNKNOWN', message: expect.stringContaining('did not answer after KILL QUERY') })
      // The second waited for the side connection, which gave up on the held KILL (2 s) instead of
      // waiting for ever: its KILL went out on the next one. Unbounded, SLEEP(5) would have run to
      // its end and this would read "it finished on the server while being stopped".
      expect(await second).toMatchObject({ code: 'ERR_LIFESPAN_QUERY_TIMEOUT', message: expect.stringContaining('stopped on the server (KILL QUERY)') })
      expect(await running('held-second', 1_000)).toBe(0)
    } finally {
      env.proxy.reset()
    }
  })

  it('a write whose server does not answer after the KILL rejects with QUERY_OUTCOME_UNKNOWN and is never re-run', async () => {
    const table = await counterTable()
    const lifespan = lifespanFor({ url: throughProxy(env.server.url, env.proxy), queryTimeoutMs: 300, pingTimeoutMs: 300 })
    await lifespan.db().query('SELECT 1')
    const write = lifespan.db().query(`UPDATE ${table} SET n = n + 1 WHERE id = 1`, [], { idempotent: true })
    env.proxy.stall()
    try {
      await expect(write).rejects.toMatchObject({ code: 'ERR_LIFESPAN_QUERY_OUTCOME_UNKNOWN' })
    } finally {
      env.proxy.resume()
      env.proxy.reset()
    }
    expect(lifespan.stats().aliases.default!.retries).toBe(0)
    expect(lifespan.stats().aliases.default!.destroyed.timeout).toBe(1)
  })
})
