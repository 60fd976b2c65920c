/**
 * The pool reads a few mysql2 internals that are not in its typings (src/pool.ts
 * `MysqlPoolInternals`; per-connection packet handling). A mysql2 release that renames or drops
 * one must fail here, loudly, rather than make the checkout misbehave quietly. CI runs this file
 * against the lowest mysql2 of the peer range and the locked (newest) one.
 */
import mysql from 'mysql2'
import type { PoolConnection } from 'mysql2'
import { describe, expect, it } from 'vitest'
import { isOptionsObject, queryWithOptions } from '../../src/query-command.js'
import { mysqlUrl } from '../support/env.js'

type Internals = {
  _freeConnections: { length: number }
  _allConnections: { length: number }
  _closed: boolean
  config: { connectionLimit: number }
}

const getConnection = (pool: mysql.Pool): Promise<PoolConnection> =>
  new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))))

describe('the mysql2 internals the pool relies on', () => {
  it('exist on a new pool, with the values the checkout expects', async () => {
    const pool = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 3 })
    const internals = pool as unknown as Internals
    expect(internals._freeConnections.length).toBe(0)
    expect(internals._allConnections.length).toBe(0)
    expect(internals._closed).toBe(false)
    expect(internals.config.connectionLimit).toBe(3)
    await new Promise<void>((resolve) => pool.end(() => resolve()))
    expect(internals._closed).toBe(true)
  })

  it('follow the connections: leased, free, closed; a connection has threadId, stream and handlePacket', async () => {
    const pool = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 2 })
    const internals = pool as unknown as Internals
    const adopted: unknown[] = []
    pool.on('connection', (conn) => adopted.push(conn))
    try {
      const conn = await getConnection(pool)
      expect(adopted).toEqual([conn])
      expect(internals._allConnections.length).toBe(1)
      expect(internals._freeConnections.length).toBe(0)
      expect(typeof conn.threadId).toBe('number')
      const raw = conn as unknown as { stream?: { destroy?: unknown }; handlePacket?: unknown }
      expect(typeof raw.stream?.destroy).toBe('function')
      expect(typeof raw.handlePacket).toBe('function')
      conn.release()
      expect(internals._freeConnections.length).toBe(1)
      expect(internals._allConnections.length).toBe(1)
      conn.destroy()
      expect(internals._allConnections.length).toBe(0)
    } finally {
      await new Promise<void>((resolve) => pool.end(() => resolve()))
    }
  })

  it("build a statement's Query command from createQuery's constructor, and run it with its own options", async () => {
    // mysql2 exports createQuery (index.js) without a type for it.
    const { createQuery } = mysql as unknown as { createQuery: (sql: string, values: unknown, cb: unknown, config: object) => { constructor: unknown } }
    const probe = createQuery('', undefined, undefined, {})
    expect(typeof probe.constructor).toBe('function')
    expect(probe.constructor).not.toBe(Object)
    const pool = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 1 })
    try {
      const conn = await getConnection(pool)
      const run = (options: { sql: string; values?: unknown; [k: string]: unknown }, values?: unknown): Promise<unknown> =>
        new Promise((resolve, reject) => queryWithOptions(conn, options, values, (err, rows) => (err ? reject(err) : resolve(rows))))
      // Per-statement options reach mysql2: rowsAsArray, and big numbers as strings.
      expect(await run({ sql: 'SELECT ? AS a, 9007199254740993 AS b', rowsAsArray: true, supportBigNumbers: true, bigNumberStrings: true }, [7])).toEqual([[7, '9007199254740993']])
      // Values in the options object, and the connection's defaults where the statement sets none.
      expect(await run({ sql: 'SELECT ? AS a', values: ['x'] })).toEqual([{ a: 'x' }])
      // typeCast per statement.
      const cast = await run({ sql: "SELECT 'y' AS a", typeCast: (field: { string(): string }, next: () => unknown) => `${field.string()}!` || next() })
      expect(cast).toEqual([{ a: 'y!' }])
      conn.release()
    } finally {
      await new Promise<void>((resolve) => pool.end(() => resolve()))
    }
    expect(isOptionsObject({ sql: 'SELECT 1' })).toBe(true)
    expect(isOptionsObject('SELECT 1')).toBe(false)
    expect(isOptionsObject(probe)).toBe(false)
  })
})
