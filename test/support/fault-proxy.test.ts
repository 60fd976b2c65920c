import { afterAll, afterEach, beforeAll, beforeEach, describe, it, expect } from 'vitest'
import mysql from 'mysql2/promise'
import type { Connection } from 'mysql2/promise'
import { startFaultProxy, type FaultProxy } from './fault-proxy.js'

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
const target = new URL(MYSQL_URL)
const TABLE = `fault_proxy_scratch_${process.pid}_${Date.now()}`
const DISCONNECT_CODES = ['ECONNRESET', 'PROTOCOL_CONNECTION_LOST']

let direct: Connection
let proxy: FaultProxy
const opened: Connection[] = []

/** A connection through the proxy whose late 'error' events cannot fail the run. */
async function viaProxy(options: { connectTimeout?: number } = {}): Promise<Connection> {
  const connection = await mysql.createConnection({ uri: proxy.url(), ...options })
  connection.on('error', () => undefined)
  opened.push(connection)
  return connection
}

/** Tracks a promise's settlement without awaiting it, to assert that a query hangs. */
function track<T>(promise: Promise<T>): { settled: () => boolean } {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  return { settled: () => settled }
}

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function rowCount(value: number): Promise<number> {
  const [rows] = await direct.query(`SELECT COUNT(*) AS n FROM \`${TABLE}\` WHERE v = ?`, [value])
  return Number((rows as Array<{ n: number }>)[0]?.n)
}

beforeAll(async () => {
  // Faults only ever go to a server on this machine.
  expect(['127.0.0.1', 'localhost']).toContain(target.hostname)
  direct = await mysql.createConnection(MYSQL_URL)
  await direct.query(`CREATE TABLE \`${TABLE}\` (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)`)
})

afterAll(async () => {
  await direct?.query(`DROP TABLE IF EXISTS \`${TABLE}\``)
  await direct?.end()
})

beforeEach(async () => {
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 3306) })
})

afterEach(async () => {
  for (const connection of opened.splice(0)) connection.destroy()
  await proxy.close()
})

describe('startFaultProxy', () => {
  it('passes queries through and counts client sockets', async () => {
    expect(proxy.url()).toBe(`mysql://root@127.0.0.1:${proxy.port}/test`)
    expect(proxy.url('other', 'app')).toBe(`mysql://app@127.0.0.1:${proxy.port}/other`)
    const connection = await viaProxy()
    expect(proxy.connections).toBe(1)
    const [rows] = await connection.query('SELECT 1 + 1 AS two, DATABASE() AS db')
    expect(rows).toEqual([{ two: 2, db: 'test' }])
    const [executed] = await connection.execute('SELECT ? AS v', [7])
    expect(executed).toEqual([{ v: 7 }])
    await connection.end()
    await waitFor(() => proxy.connections === 0)
  })

  it('stall() blackholes open and new connections; resume() only helps new ones', async () => {
    const connection = await viaProxy()
    proxy.stall()
    const hung = connection.query('SELECT 1')
    hung.catch(() => undefined)
    const state = track(hung)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(state.settled()).toBe(false)
    expect(proxy.connections).toBe(1)
    connection.destroy()

    // A new client is accepted but never sees a greeting: only connectTimeout ends it.
    await expect(viaProxy({ connectTimeout: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' })

    proxy.resume()
    const fresh = await viaProxy()
    const [rows] = await fresh.query('SELECT 3 AS v')
    expect(rows).toEqual([{ v: 3 }])
  })

  it('cutNextResponse() loses the reply of a statement that did run', async () => {
    const connection = await viaProxy()
    await connection.query('SELECT 1') // not matched: passes
    const cut = proxy.cutNextResponse((sql) => sql.startsWith('INSERT') && sql.includes(TABLE))
    const error = await connection.query(`INSERT INTO \`${TABLE}\` (v) VALUES (41)`).catch((e: unknown) => e)
    expect(DISCONNECT_CODES).toContain((error as { code?: unknown }).code)
    await expect(cut).resolves.toEqual({ command: 'COM_QUERY', sql: `INSERT INTO \`${TABLE}\` (v) VALUES (41)` })
    expect(await rowCount(41)).toBe(1)
  })

  it('cutNextResponse() also cuts COM_STMT_EXECUTE, matched with empty text', async () => {
    const connection = await viaProxy()
    const seen: string[] = []
    const cut = proxy.cutNextResponse((sql) => {
      seen.push(sql)
      return sql === ''
    })
    const error = await connection.execute(`INSERT INTO \`${TABLE}\` (v) VALUES (?)`, [42]).catch((e: unknown) => e)
    expect(DISCONNECT_CODES).toContain((error as { code?: unknown }).code)
    await expect(cut).resolves.toEqual({ command: 'COM_STMT_EXECUTE', sql: '' })
    expect(seen).toEqual([''])
    expect(await rowCount(42)).toBe(1)
  })

  it('finds commands in packets split across many TCP chunks', async () => {
    const connection = await viaProxy()
    const big = 'x'.repeat(2 * 1024 * 1024)
    const cut = proxy.cutNextResponse((sql) => sql.includes('/* big-marker */'))
    const [rows] = await connection.query('SELECT LENGTH(?) AS n', [big])
    expect(rows).toEqual([{ n: big.length }])
    const error = await connection.query('SELECT LENGTH(?) AS n /* big-marker */', [big]).catch((e: unknown) => e)
    expect(DISCONNECT_CODES).toContain((error as { code?: unknown }).code)
    expect((await cut).sql.length).toBeGreaterThan(big.length)
  })

  it('injectInteractionTimeout() answers a query with error 4031 without running it', async () => {
    const connection = await viaProxy()
    const injected = proxy.injectInteractionTimeout((sql) => sql.includes(TABLE))
    await connection.query('SELECT 1') // not matched: passes
    const error = await connection.query(`INSERT INTO \`${TABLE}\` (v) VALUES (43)`).catch((e: unknown) => e)
    expect(error).toMatchObject({ errno: 4031, code: 'ER_CLIENT_INTERACTION_TIMEOUT', sqlState: 'HY000' })
    expect((error as Error).message).toMatch(/^The client was disconnected by the server because of inactivity/)
    await expect(injected).resolves.toMatchObject({ command: 'COM_QUERY' })
    expect(await rowCount(43)).toBe(0)
    // The FIN that follows leaves the connection unusable, as after a real MySQL 8 close.
    await waitFor(() => proxy.connections === 0)
    await expect(connection.query('SELECT 1')).rejects.toThrow()
  })

  it('reset() fails an in-flight query with a disconnect error', async () => {
    const connection = await viaProxy()
    const started = Date.now()
    const inFlight = connection.query('SELECT SLEEP(1)').catch((e: unknown) => e)
    await new Promise((resolve) => setTimeout(resolve, 100))
    proxy.reset()
    const error = await inFlight
    expect(DISCONNECT_CODES).toContain((error as { code?: unknown }).code)
    expect(Date.now() - started).toBeLessThan(900)
    await waitFor(() => proxy.connections === 0)
    // The listener survives a reset.
    const fresh = await viaProxy()
    await expect(fresh.query('SELECT 1')).resolves.toBeDefined()
  })

  it('setLatency() delays both directions and can be turned off', async () => {
    const connection = await viaProxy()
    proxy.setLatency(60)
    let started = performance.now()
    await connection.query('SELECT 1')
    expect(performance.now() - started).toBeGreaterThanOrEqual(115)
    proxy.setLatency(0)
    started = performance.now()
    await connection.query('SELECT 1')
    expect(performance.now() - started).toBeLessThan(50)
    expect(() => proxy.setLatency(-1)).toThrow(RangeError)
  })

  it('close() rejects faults that never happened', async () => {
    const pending = proxy.cutNextResponse()
    await proxy.close()
    await expect(pending).rejects.toThrow(/closed/)
  })
})
