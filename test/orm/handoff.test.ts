/**
 * Hand-over between tool checkouts outside any scope (src/compat/handoff.ts): a released scope and
 * its connection go straight to the oldest waiting tool checkout, unless that would pass on a
 * changed session or an open transaction, starve a db() scope, or outlive shutdown's drain. Each
 * rule is shown by the state it leaves; where a plain mysql2 pool hands the same thing over, it runs
 * beside.
 */
import mysql from 'mysql2'
import type { Pool, PoolConnection } from 'mysql2'
import { describe, expect, it } from 'vitest'
import { admin, lifespanFor, mysqlUrl, sleep, tableName } from '../support/env.js'

const limited = (n: number): string => `${mysqlUrl()}${mysqlUrl().includes('?') ? '&' : '?'}connectionLimit=${n}`

/** A connection from a callback pool (the facade or mysql2's own). */
const take = (pool: Pool): Promise<PoolConnection> => new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))))

/** One statement on a checked-out connection: its rows. */
const q = <T = Array<Record<string, unknown>>>(conn: PoolConnection, sql: string): Promise<T> =>
  new Promise((resolve, reject) => conn.query(sql, (err, rows) => (err ? reject(err) : resolve(rows as T))))

/** Lets queued callbacks and replies arrive. */
const settle = (): Promise<void> => sleep(30)

describe('hand-over between tool checkouts', () => {
  it('a full pool hands released connections straight to waiting tool checkouts: one validation for many checkouts, never more connections than the limit', async () => {
    const lifespan = lifespanFor({ url: limited(2) })
    const pool = lifespan.pool()
    const ids = new Set<number>()
    let reads = 0
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let i = 0; i < 50; i++) {
          const conn = await take(pool)
          const [row] = await q<Array<{ id: number }>>(conn, 'SELECT CONNECTION_ID() AS id')
          ids.add(Number(row!.id))
          reads++
          conn.release()
        }
      }),
    )
    const stats = lifespan.stats().aliases.default!
    expect(reads).toBe(300)
    expect(ids.size).toBeLessThanOrEqual(2)
    expect(stats.created).toBeLessThanOrEqual(2)
    // Without hand-over every checkout is validated on entry (300); with it, only those that came from the pool.
    expect(stats.validations).toBeLessThan(reads / 2)
    expect(stats.inUse).toBe(0)
  })

  it('a session the tool changed is reset before the next tool checkout runs on it (a plain mysql2 pool hands it over as it is)', async () => {
    const waitingCheckoutSees = async (pool: Pool): Promise<unknown> => {
      const first = await take(pool)
      await q(first, 'SET @handed = 42')
      // The second checkout waits: the only connection is taken.
      const second = take(pool)
      await settle()
      first.release()
      const conn = await second
      const [row] = await q<Array<{ v: unknown }>>(conn, 'SELECT @handed AS v')
      conn.release()
      return row!.v
    }
    const plain = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 1 })
    try {
      expect(await waitingCheckoutSees(plain)).toBe(42)
    } finally {
      await plain.promise().end()
    }
    const lifespan = lifespanFor({ url: limited(1) })
    expect(await waitingCheckoutSees(lifespan.pool())).toBeNull()
    expect(lifespan.stats().aliases.default!.resets).toBeGreaterThanOrEqual(1)
  })

  it('a transaction the tool left open is rolled back, not handed over: the next checkout\'s write commits (on a plain mysql2 pool it joins the open transaction and is lost)', async () => {
    /** The rows committed once `pool` was ended, after one checkout left a transaction open and the next (waiting) wrote. */
    const committedAfter = async (pool: Pool, end: () => Promise<unknown>): Promise<string[]> => {
      const t = tableName('o_handoff_tx')
      await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB`)
      const first = await take(pool)
      await q(first, 'START TRANSACTION')
      await q(first, `INSERT INTO ${t} (v) VALUES ('abandoned')`)
      const second = take(pool)
      await settle()
      first.release()
      const conn = await second
      await q(conn, `INSERT INTO ${t} (v) VALUES ('next')`)
      conn.release()
      await end()
      const rows = await admin<Array<{ v: string }>>(`SELECT v FROM ${t} ORDER BY id`)
      return rows.map((r) => r.v)
    }
    const plain = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 1 })
    expect(await committedAfter(plain, () => plain.promise().end())).toEqual([])
    const lifespan = lifespanFor({ url: limited(1) })
    expect(await committedAfter(lifespan.pool(), () => lifespan.shutdown())).toEqual(['next'])
  })

  it('tool checkouts waiting for a hand-over when shutdown begins are handed connections and finish; shutdown is clean', async () => {
    const lifespan = lifespanFor({ url: limited(1) })
    const pool = lifespan.pool()
    const first = await take(pool)
    const later = Array.from({ length: 3 }, async () => {
      const conn = await take(pool)
      const [row] = await q<Array<{ ok: number }>>(conn, 'SELECT 1 AS ok')
      conn.release()
      return Number(row!.ok)
    })
    await settle()
    const report = lifespan.shutdown({ timeoutMs: 5_000 })
    await q(first, 'SELECT SLEEP(0.1)')
    first.release()
    expect(await Promise.all(later)).toEqual([1, 1, 1])
    const done = await report
    expect(done.clean).toBe(true)
    expect(done.interrupted).toBe(0)
    // New checkouts are refused once shutdown has begun.
    await expect(take(pool)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_STOPPED' })
  })

  it('db() scopes waiting in the pool are served while tool checkouts keep the pool busy', async () => {
    // A scope passed on lives up to aliveBypassMs (500 ms): db() scopes that had to wait for the
    // end of such a chain would run out of their 300 ms.
    const lifespan = lifespanFor({ databases: { default: { uri: limited(2), acquireTimeoutMs: 300 } } })
    const pool = lifespan.pool()
    let stop = false
    const tools = Array.from({ length: 6 }, async () => {
      let n = 0
      while (!stop) {
        const conn = await take(pool)
        await q(conn, 'SELECT 1')
        conn.release()
        n++
      }
      return n
    })
    let scopes = 0
    try {
      for (let i = 0; i < 20; i++) {
        await lifespan.scope(() => lifespan.db().query('SELECT 1'))
        scopes++
      }
    } finally {
      stop = true
    }
    const toolReads = await Promise.all(tools)
    expect(scopes).toBe(20)
    expect(toolReads.every((n) => n > 0)).toBe(true)
    expect(lifespan.stats().aliases.default!.acquireTimeouts).toBe(0)
  })

  it('a tool checkout waiting for a hand-over that does not come takes a connection the pool got back meanwhile', async () => {
    const lifespan = lifespanFor({ databases: { default: { uri: limited(2), acquireTimeoutMs: 1_500 } } })
    const pool = lifespan.pool()
    // A tool holds one connection and does not let go; a db() scope holds the other for a while.
    const held = await take(pool)
    const scope = lifespan.scope(() => lifespan.db().query('SELECT SLEEP(0.3)'))
    await sleep(100)
    // This checkout waits for the held one's release, which does not come; the scope's connection goes back to the pool.
    const waiting = take(pool)
    await scope
    const conn = await waiting
    const [row] = await q<Array<{ ok: number }>>(conn, 'SELECT 1 AS ok')
    expect(Number(row!.ok)).toBe(1)
    conn.release()
    held.release()
    expect(lifespan.stats().aliases.default!.acquireTimeouts).toBe(0)
  })
})
