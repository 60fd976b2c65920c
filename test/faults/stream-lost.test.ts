/**
 * A streamed statement (`query().stream()`, what Kysely `stream()`, Drizzle `iterator()` and Knex
 * `.stream()` use) whose connection is killed on the server while it runs. mysql2 tells a statement
 * without a callback nothing when its connection dies (the error goes to the connection), so a plain
 * mysql2 stream never ends. Through `lifespan.pool()` the stream fails with the connection's error,
 * the connection is not kept, and the next statement works.
 */
import mysql from 'mysql2'
import { describe, expect, it } from 'vitest'
import { admin, lifespanFor, mysqlUrl, sleep, tableName } from '../support/env.js'

/** How a stream ended: its error's code, 'ended', or 'pending' after `withinMs`. */
function outcome(rows: NodeJS.ReadableStream, withinMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('pending'), withinMs)
    rows.on('error', (e: { code?: unknown }) => {
      clearTimeout(timer)
      resolve(e.code)
    })
    rows.on('end', () => {
      clearTimeout(timer)
      resolve('ended')
    })
    rows.resume()
  })
}

/** Kills, on the server, the connection running the statement tagged `marker` (waits until it runs). */
async function killRunning(marker: string): Promise<void> {
  for (;;) {
    const rows = await admin<Array<{ id: number }>>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE ?', [`%${marker}%`])
    if (rows[0]) return void (await admin(`KILL CONNECTION ${Number(rows[0].id)}`))
    await sleep(20)
  }
}

describe('a stream whose connection is killed while it runs', () => {
  it('plain mysql2: the stream neither errors nor ends', async () => {
    const marker = tableName('plain_stream')
    const pool = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 2 })
    pool.on('connection', (conn) => conn.on('error', () => {}))
    try {
      const ended = outcome(pool.query(`SELECT SLEEP(30) AS s, '${marker}' AS m`).stream(), 3_000)
      await killRunning(marker)
      expect(await ended).toBe('pending')
    } finally {
      pool.end(() => {})
    }
  })

  it('through lifespan.pool(): the stream fails with the connection error, the connection is not kept, the next statement works', async () => {
    const marker = tableName('lifespan_stream')
    const lifespan = lifespanFor()
    const pool = lifespan.pool()
    const ended = outcome(pool.query(`SELECT SLEEP(30) AS s, '${marker}' AS m`).stream(), 3_000)
    await killRunning(marker)
    // The socket closing, or MariaDB's 1927 "Connection was killed" first when it sends one.
    expect(['PROTOCOL_CONNECTION_LOST', 'ER_CONNECTION_KILLED']).toContain(await ended)
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
    const [rows] = await pool.promise().query('SELECT 1 AS one')
    expect(rows).toEqual([{ one: 1 }])
  })
})
