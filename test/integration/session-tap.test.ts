/**
 * The mysql2 internals the connection-state tap and the session reset rely on, asserted on real
 * objects (the pool's own are in test/unit/mysql2-internals.test.ts) so that a mysql2 release
 * that renames them fails here, loudly, instead of turning a guarantee off in silence.
 */
import mysql from 'mysql2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SessionState, tapSessionState } from '../../src/connection-state.js'
import { mysqlUrl } from '../support/env.js'

let conn: mysql.Connection

beforeAll(async () => {
  conn = mysql.createConnection({ uri: mysqlUrl() })
  await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())))
})

afterAll(() => conn?.destroy())

const query = (sql: string): Promise<unknown> => new Promise((resolve, reject) => conn.query(sql, (err, rows) => (err ? reject(err) : resolve(rows))))

describe('mysql2 internals', () => {
  it('the status tap sees the transaction and session flags of OK and EOF replies', async () => {
    expect(typeof (conn as unknown as { handlePacket?: unknown }).handlePacket).toBe('function')
    const state = new SessionState()
    tapSessionState(conn as never, state)
    await query('BEGIN')
    expect(state.inTransaction).toBe(true)
    await query('SELECT 1')
    expect(state.inTransaction).toBe(true)
    await query('ROLLBACK')
    expect(state.inTransaction).toBe(false)
    await query('SET SESSION session_track_state_change = 1')
    state.dirty = false
    await query('SET @x = 1')
    expect(state.dirty).toBe(true)
  })

  it('reset() exists and clears the prepared-statement cache', async () => {
    expect(typeof conn.reset).toBe('function')
    await new Promise<void>((resolve, reject) => conn.execute('SELECT ? AS x', [1], (err) => (err ? reject(err) : resolve())))
    await new Promise<void>((resolve, reject) => conn.reset((err) => (err ? reject(err) : resolve())))
    await expect(new Promise((resolve, reject) => conn.execute('SELECT ? AS x', [2], (err, rows) => (err ? reject(err) : resolve(rows))))).resolves.toEqual([{ x: 2 }])
  })
})
