/**
 * Connection state: a transaction opened with SQL, or session state, never crosses a unit of
 * work, and a connection that dies inside a transaction never lets the rest of it autocommit
 * elsewhere. Each guarantee is read back from the table or the session afterwards, and the same
 * steps on a plain mysql2 pool show what happens without it.
 */
import mysql from 'mysql2/promise'
import { afterEach, describe, expect, it } from 'vitest'
import { throughProxy } from '../../demo/scenarios.js'
import type { RecordedCommand } from '../support/fault-proxy.js'
import { serverBehindProxy } from '../support/server-behind-proxy.js'
import { admin, lifespanFor, tableName } from '../support/env.js'

const env = serverBehindProxy()
let table: string
const plainPools: mysql.Pool[] = []

afterEach(async () => {
  await Promise.all(plainPools.splice(0).map((p) => p.end().catch(() => {})))
})

async function freshTable(): Promise<string> {
  table = tableName('cs')
  await admin(`CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB`, [], env.server.url)
  return table
}

async function values(): Promise<string[]> {
  const rows = await admin<Array<{ v: string }>>(`SELECT v FROM ${table} ORDER BY id`, [], env.server.url)
  return rows.map((r) => r.v)
}

function plainPool(url: string): mysql.Pool {
  const pool = mysql.createPool({ uri: url, connectionLimit: 1 })
  plainPools.push(pool)
  return pool
}

const isSelect = (sql: string): boolean => /^select/i.test(sql.trim())

describe('a connection cut inside a transaction opened with SQL', () => {
  for (const opener of ['BEGIN', 'START TRANSACTION', 'SET autocommit = 0']) {
    it(`${opener}: nothing of it is committed, later statements are refused until ROLLBACK`, async () => {
      await freshTable()
      const lifespan = lifespanFor({ url: throughProxy(env.server.url, env.proxy), databases: { default: { uri: throughProxy(env.server.url, env.proxy), connectionLimit: 1 } } })
      await lifespan.scope(async () => {
        const db = lifespan.db()
        await db.query(opener)
        await db.query(`INSERT INTO ${table} (v) VALUES ('a')`)
        const cut = env.proxy.cutNextResponse(isSelect)
        await expect(db.query(`SELECT COUNT(*) AS n FROM ${table}`)).rejects.toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' })
        await cut
        await expect(db.query(`INSERT INTO ${table} (v) VALUES ('b')`)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_TRANSACTION_LOST' })
        await expect(db.query('COMMIT')).rejects.toMatchObject({ code: 'ERR_LIFESPAN_TRANSACTION_LOST' })
        // COMMIT acknowledged the loss: the scope carries on, outside any transaction.
        await db.query(`INSERT INTO ${table} (v) VALUES ('c')`)
      })
      expect(await values()).toEqual(['c'])
      expect(lifespan.stats().aliases.default!.retries).toBe(0)
    })
  }

  it('ROLLBACK after the loss resolves and the scope works again', async () => {
    await freshTable()
    const lifespan = lifespanFor({ url: throughProxy(env.server.url, env.proxy) })
    await lifespan.scope(async () => {
      const db = lifespan.db()
      await db.query('START TRANSACTION')
      await db.query(`INSERT INTO ${table} (v) VALUES ('a')`)
      const cut = env.proxy.cutNextResponse(isSelect)
      await expect(db.query('SELECT 1')).rejects.toBeDefined()
      await cut
      await expect(db.query(`SELECT * FROM ${table}`)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_TRANSACTION_LOST' })
      await expect(db.query('ROLLBACK')).resolves.toBeDefined()
      await db.query(`INSERT INTO ${table} (v) VALUES ('after')`)
    })
    expect(await values()).toEqual(['after'])
  })

  it('a COMMIT cut off rejects with COMMIT_OUTCOME_UNKNOWN and is not re-run', async () => {
    await freshTable()
    const lifespan = lifespanFor({ url: throughProxy(env.server.url, env.proxy) })
    await lifespan.scope(async () => {
      const db = lifespan.db()
      await db.query('BEGIN')
      await db.query(`INSERT INTO ${table} (v) VALUES ('a')`)
      const cut = env.proxy.cutNextResponse((sql) => /^commit/i.test(sql))
      await expect(db.query('COMMIT')).rejects.toMatchObject({ code: 'ERR_LIFESPAN_COMMIT_OUTCOME_UNKNOWN' })
      await cut
      // The transaction ended either way: the scope is not refused.
      await db.query('SELECT 1')
    })
    expect(await values()).toEqual(['a'])
  })

  it('a statement that commits implicitly, cut off inside a SQL transaction, rejects with COMMIT_OUTCOME_UNKNOWN, not as a lost transaction', async () => {
    await freshTable()
    const other = tableName('cs_ddl')
    const lifespan = lifespanFor({ url: throughProxy(env.server.url, env.proxy) })
    try {
      await lifespan.scope(async () => {
        const db = lifespan.db()
        await db.query('BEGIN')
        await db.query(`INSERT INTO ${table} (v) VALUES ('a')`)
        const cut = env.proxy.cutNextResponse((sql) => /^create table/i.test(sql))
        // The server commits the open transaction before the CREATE runs: "nothing of it was
        // committed" (a lost transaction) would be false, and re-running the transaction would double it.
        await expect(db.query(`CREATE TABLE ${other} (id INT)`)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_COMMIT_OUTCOME_UNKNOWN' })
        await cut
        // The transaction ended either way: the scope is not refused.
        await db.query('SELECT 1')
      })
      expect(await values()).toEqual(['a'])
    } finally {
      await admin(`DROP TABLE IF EXISTS ${other}`, [], env.server.url)
    }
  })

  it('a deadlock inside a SQL transaction: the rest of it is refused instead of autocommitting', async () => {
    await freshTable()
    await admin(`INSERT INTO ${table} (id, v) VALUES (1, 'one'), (2, 'two')`, [], env.server.url)
    const lifespan = lifespanFor({ url: env.server.url })
    const victim = (first: number, second: number) =>
      lifespan.scope(async () => {
        const db = lifespan.db()
        await db.query('BEGIN')
        await db.query(`UPDATE ${table} SET v = 'x' WHERE id = ?`, [first])
        await new Promise((resolve) => setTimeout(resolve, 200))
        try {
          await db.query(`UPDATE ${table} SET v = 'x' WHERE id = ?`, [second])
        } catch (err) {
          // The server rolled this transaction back; what the scope sends next must not autocommit.
          await expect(db.query(`INSERT INTO ${table} (v) VALUES ('orphan')`)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_TRANSACTION_LOST' })
          await db.query('ROLLBACK')
          return (err as { errno?: number }).errno
        }
        await db.query('COMMIT')
        return 0
      })
    const outcomes = await Promise.all([victim(1, 2), victim(2, 1)])
    expect(outcomes.sort()).toEqual([0, 1213])
    expect(await values()).not.toContain('orphan')
  })

  it('plain mysql2 beside it: the write after the cut autocommits on a new connection (half a transaction)', async () => {
    await freshTable()
    const pool = plainPool(throughProxy(env.server.url, env.proxy))
    await pool.query('START TRANSACTION')
    await pool.query(`INSERT INTO ${table} (v) VALUES ('a')`)
    const cut = env.proxy.cutNextResponse(isSelect)
    await expect(pool.query('SELECT 1')).rejects.toBeDefined()
    await cut
    await pool.query(`INSERT INTO ${table} (v) VALUES ('b')`)
    await pool.query('COMMIT')
    expect(await values()).toEqual(['b'])
  })
})

describe('a scope gives back a clean connection', () => {
  it('a transaction left open is rolled back (and logged) before the next scope gets the connection', async () => {
    await freshTable()
    const warnings: unknown[] = []
    const lifespan = lifespanFor({
      databases: { default: { uri: env.server.url, connectionLimit: 1 } },
      logger: { warn: (obj: unknown) => warnings.push(obj) },
    })
    const first = await lifespan.scope(async () => {
      await lifespan.db().query('START TRANSACTION')
      await lifespan.db().query(`INSERT INTO ${table} (v) VALUES ('x')`)
      const [rows] = await lifespan.db().query<Array<{ id: number }>>('SELECT CONNECTION_ID() AS id')
      return rows[0]!.id
    })
    const second = await lifespan.scope(async () => {
      const [rows] = await lifespan.db().query<Array<{ id: number; t: number }>>('SELECT CONNECTION_ID() AS id, @@in_transaction AS t')
      await lifespan.db().query('COMMIT')
      return rows[0]!
    })
    expect(second).toEqual({ id: first, t: 0 })
    expect(await values()).toEqual([])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ openedBy: 'START TRANSACTION' })
    expect(lifespan.stats().aliases.default!.rollbacks).toBe(1)
  })

  it('plain mysql2 beside it: the next user of the connection commits the abandoned write', async () => {
    await freshTable()
    const pool = plainPool(env.server.url)
    const a = await pool.getConnection()
    await a.query('START TRANSACTION')
    await a.query(`INSERT INTO ${table} (v) VALUES ('x')`)
    a.release()
    const b = await pool.getConnection()
    await b.query('COMMIT')
    b.release()
    expect(await values()).toEqual(['x'])
  })

  const dirtying = [
    'SET @a = 1',
    'SELECT @b := 2',
    'SELECT 3 INTO @c',
    "SET SESSION sql_mode = 'ANSI_QUOTES'",
    'SET SESSION wait_timeout = 7',
    'SET NAMES latin1',
    'CREATE TEMPORARY TABLE tmp_state (id INT)',
    "SELECT GET_LOCK('lifespan-test-lock', 0)",
    'USE mysql',
  ]
  const readState = (lockName: string): string =>
    'SELECT CONNECTION_ID() AS id, @a AS a, @b AS b, @c AS c, @@session.sql_mode AS mode, @@session.wait_timeout AS wt, ' +
    `@@session.character_set_client AS cs, @@session.collation_connection AS coll, IS_USED_LOCK('${lockName}') AS lock_owner, DATABASE() AS db, ` +
    "(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = 'tmp_state' AND TABLE_TYPE LIKE '%TEMPORARY%') AS tmp"

  it('every kind of session state is reset, with the alias charset and the handshake sql_mode put back; prepared statements work across it', async () => {
    const lifespan = lifespanFor({ databases: { default: { uri: env.server.url, connectionLimit: 1, charset: 'utf8mb4_unicode_ci' } } })
    const baseline = await lifespan.scope(async () => {
      const [rows] = await lifespan.db().query<Array<Record<string, unknown>>>(readState("lifespan-test-lock"))
      return rows[0]!
    })
    expect(baseline).toMatchObject({ cs: 'utf8mb4', coll: 'utf8mb4_unicode_ci', db: 'test', lock_owner: null, tmp: 0 })
    for (const statement of dirtying) {
      await lifespan.scope(async () => {
        const [x] = await lifespan.db().execute<Array<{ x: number }>>('SELECT ? + 1 AS x', [1])
        expect(x[0]!.x).toBe(2)
        await lifespan.db().query(statement)
      })
      const after = await lifespan.scope(async () => {
        const [x] = await lifespan.db().execute<Array<{ x: number }>>('SELECT ? + 1 AS x', [1])
        expect(x[0]!.x).toBe(2)
        // MariaDB drops IGNORE_SPACE on a reset; the baseline puts it back, so this still parses.
        await lifespan.db().query('SELECT COUNT (*) AS n FROM information_schema.SCHEMATA')
        const [rows] = await lifespan.db().query<Array<Record<string, unknown>>>(readState("lifespan-test-lock"))
        return rows[0]!
      })
      expect({ statement, ...after }).toEqual({ statement, ...baseline })
    }
    expect(lifespan.stats().aliases.default!.resets).toBe(dirtying.length)
    expect(lifespan.stats().aliases.default!.created).toBe(1)
  })

  it('plain mysql2 beside it: user variables, session variables and locks leak to the next user', async () => {
    const pool = plainPool(env.server.url)
    const a = await pool.getConnection()
    await a.query("SET @a = 1, SESSION wait_timeout = 7, SESSION sql_mode = 'ANSI_QUOTES'")
    await a.query("SELECT GET_LOCK('plain-leak', 0)")
    a.release()
    const b = await pool.getConnection()
    const [[row]] = await b.query<mysql.RowDataPacket[]>("SELECT @a AS a, @@session.wait_timeout AS wt, @@session.sql_mode AS mode, IS_USED_LOCK('plain-leak') = CONNECTION_ID() AS mine")
    b.release()
    expect(row).toMatchObject({ a: 1, wt: 7, mode: 'ANSI_QUOTES', mine: 1 })
  })
})

describe('what cleaning costs', () => {
  const commandsOf = async (fn: () => Promise<unknown>): Promise<RecordedCommand[]> => {
    const stop = env.proxy.recordCommands()
    try {
      await fn()
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return stop()
  }

  it('a clean scope makes no extra round trip; a dirty one makes two (reset + restore); a transaction left open one (ROLLBACK)', async () => {
    const lifespan = lifespanFor({ databases: { default: { uri: throughProxy(env.server.url, env.proxy), connectionLimit: 1 } } })
    await lifespan.scope(() => lifespan.db().query('SELECT 1'))
    const clean = await commandsOf(() => lifespan.scope(() => lifespan.db().query('SELECT 2')))
    expect(clean.map((c) => c.sql)).toEqual(['SELECT 2'])
    const dirty = await commandsOf(() => lifespan.scope(() => lifespan.db().query('SET @x = 1')))
    expect(dirty.map((c) => c.code)).toEqual([0x03, 0x1f, 0x03])
    expect(dirty[2]!.sql).toMatch(/^SET NAMES/)
    const open = await commandsOf(() => lifespan.scope(() => lifespan.db().query('BEGIN')))
    expect(open.map((c) => c.sql)).toEqual(['BEGIN', 'ROLLBACK'])
    const after = await commandsOf(() => lifespan.scope(() => lifespan.db().query('SELECT 3')))
    expect(after.map((c) => c.sql)).toEqual(['SELECT 3'])
  })
})
