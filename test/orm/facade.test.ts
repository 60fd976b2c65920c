/**
 * The facades' own rules, through the tools: what tools pass to createPool / createConnection
 * reaches their statements (or is refused with a code), per-connection setup survives the session
 * reset between scopes without leaking into other work, no tool opens more connections than the
 * alias allows, a transaction a tool abandons is rolled back, tools inside db().transaction(), and
 * an ended facade.
 */
import mysql from 'mysql2'
import { QueryTypes, Sequelize } from 'sequelize'
import { DataSource } from 'typeorm'
import { describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../src/index.js'
import { admin, lifespanFor, mysqlUrl, sleep, tableName } from '../support/env.js'
import { startDisposableServer } from '../support/disposable-server.js'
import { startFaultProxy } from '../support/fault-proxy.js'
import { throughProxy } from '../../demo/scenarios.js'
import { makeTool } from './support/tools.js'

const oneConnection = (): string => `${mysqlUrl()}${mysqlUrl().includes('?') ? '&' : '?'}connectionLimit=1`

describe('tool options through lifespan.driver()', () => {
  it('TypeORM\'s supportBigNumbers / bigNumberStrings reach its statements; db() keeps the alias\'s', async () => {
    const lifespan = lifespanFor()
    const source = await new DataSource({ type: 'mysql', driver: lifespan.driver(), database: 'test' }).initialize()
    const [viaTypeorm] = (await source.query('SELECT 9007199254740993 AS big')) as Array<{ big: unknown }>
    const [[viaDb]] = (await lifespan.db().query('SELECT 9007199254740993 AS big')) as unknown as [[{ big: unknown }]]
    expect(viaTypeorm!.big).toBe('9007199254740993')
    expect(viaDb.big).not.toBe('9007199254740993')
    await source.destroy()
  })

  it('Sequelize\'s SET time_zone holds for its statements on every connection and leaks into nobody else\'s scope; it stays on the connection between Sequelize\'s scopes, one SET each time the zone changes hands, no reset', async () => {
    const server = await startDisposableServer()
    const proxy = await startFaultProxy({ host: server.host, port: server.port })
    try {
      const lifespan = lifespanFor({ databases: { default: { uri: throughProxy(server.url, proxy), connectionLimit: 1 } } })
      const s = new Sequelize('test', '', '', { dialect: 'mysql', dialectModule: lifespan.driver(), logging: false, timezone: '+03:00' })
      const tzOf = async (): Promise<{ tz: string; id: number }> => {
        const [row] = await s.query<{ tz: string; id: number }>('SELECT @@session.time_zone AS tz, CONNECTION_ID() AS id', { type: QueryTypes.SELECT })
        return row!
      }
      const dbTz = async (): Promise<{ tz: string; id: number }> => {
        const [[row]] = (await lifespan.db().query('SELECT @@session.time_zone AS tz, CONNECTION_ID() AS id')) as unknown as [[{ tz: string; id: number }]]
        return row
      }
      /** What the server was sent while `fn` ran: statement texts, other commands by their code. */
      const sent = async <T>(fn: () => Promise<T>): Promise<{ value: T; commands: string[] }> => {
        const stop = proxy.recordCommands()
        const value = await fn()
        await sleep(50)
        return { value, commands: stop().map((c) => (c.code === 0x03 ? c.sql : `command 0x${c.code.toString(16)}`)) }
      }
      const first = await lifespan.scope(tzOf)
      expect(first.tz).toBe('+03:00')
      // Sequelize again on the same (only) connection: its zone is still there, nothing else is sent.
      const again = await sent(() => lifespan.scope(tzOf))
      expect(again.value).toEqual(first)
      expect(again.commands).toEqual(['SELECT @@session.time_zone AS tz, CONNECTION_ID() AS id'])
      // db() on that connection gets the server's own zone back first: one SET.
      const other = await sent(() => lifespan.scope(dbTz))
      expect(other.value.id).toBe(first.id)
      expect(other.value.tz).toBe('SYSTEM')
      expect(other.commands).toEqual(["SET SESSION time_zone = 'SYSTEM'", 'SELECT @@session.time_zone AS tz, CONNECTION_ID() AS id'])
      // Back to Sequelize: one SET again.
      const back = await sent(() => lifespan.scope(tzOf))
      expect(back.value).toEqual(first)
      expect(back.commands).toEqual(["SET SESSION time_zone = '+03:00'", 'SELECT @@session.time_zone AS tz, CONNECTION_ID() AS id'])
      // In one scope the two take turns: each statement sees its own zone.
      const mixed = await lifespan.scope(async () => [await tzOf(), await dbTz(), await tzOf()])
      expect(mixed.map((r) => r.tz)).toEqual(['+03:00', 'SYSTEM', '+03:00'])
      // db().transaction() on the connection Sequelize left its zone on runs in the server's zone.
      const [[inTx]] = (await lifespan.scope(() => lifespan.db().transaction((tx) => tx.query('SELECT @@session.time_zone AS tz, CONNECTION_ID() AS id')))) as unknown as [[{ tz: string; id: number }]]
      expect(inTx).toEqual({ tz: 'SYSTEM', id: first.id })
      // None of this is a session change to undo.
      expect(lifespan.stats().aliases.default!.resets).toBe(0)
      await s.close()
      await lifespan.shutdown()
    } finally {
      await proxy.close()
      await server.stop()
    }
  })

  it('a session reset (a scope that changed its session) drops Sequelize\'s zone; Sequelize\'s next statement puts it back', async () => {
    const lifespan = lifespanFor({ url: oneConnection() })
    const s = new Sequelize('test', '', '', { dialect: 'mysql', dialectModule: lifespan.driver(), logging: false, timezone: '+03:00' })
    const tz = async (): Promise<string> => (await s.query<{ tz: string }>('SELECT @@session.time_zone AS tz', { type: QueryTypes.SELECT }))[0]!.tz
    expect(await lifespan.scope(tz)).toBe('+03:00')
    await lifespan.scope(() => lifespan.db().query('SET @dirty = 1'))
    expect(lifespan.stats().aliases.default!.resets).toBe(1)
    const [[row]] = (await lifespan.scope(() => lifespan.db().query('SELECT @@session.time_zone AS tz, @dirty AS d'))) as unknown as [[{ tz: string; d: unknown }]]
    expect(row).toEqual({ tz: 'SYSTEM', d: null })
    expect(await lifespan.scope(tz)).toBe('+03:00')
    await s.close()
  })

  it('Sequelize sends no SET time_zone (and needs no reset) where the server\'s zone already is Sequelize\'s', async () => {
    const server = await startDisposableServer({ extraArgs: ['--default-time-zone=+00:00'] })
    try {
      const lifespan = lifespanFor({ url: server.url })
      const s = new Sequelize('test', '', '', { dialect: 'mysql', dialectModule: lifespan.driver(), logging: false })
      const tz = async (): Promise<string> => (await s.query<{ tz: string }>('SELECT @@session.time_zone AS tz', { type: QueryTypes.SELECT }))[0]!.tz
      expect(await lifespan.scope(tz)).toBe('+00:00')
      expect(await lifespan.scope(tz)).toBe('+00:00')
      await s.close()
      expect(lifespan.stats().aliases.default!.resets).toBe(0)
      await lifespan.shutdown()
    } finally {
      await server.stop()
    }
  })

  it('bind values written per the tool\'s stringifyObjects and timezone, as a mysql2 pool with the same options writes them (formatted by the facade only where those options matter)', async () => {
    const lifespan = lifespanFor()
    const options = { stringifyObjects: true, timezone: '+03:00' } as const
    const facade = lifespan.driver().createPool(options).promise()
    const plain = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 1, ...options }).promise()
    const when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5))
    // Each value as one column; an array binds as a list, joined by CONCAT_WS.
    const cases: unknown[][] = [
      [42, 'text', true, null, 12345678901234567890n, Buffer.from('ab')],
      [when],
      [{ a: 1 }],
      [[1, when, 'x']],
      [[1, 2, 3]],
    ]
    try {
      for (const values of cases) {
        const sql = `SELECT ${values.map((v, i) => (Array.isArray(v) ? `CONCAT_WS('|', ?) AS c${i}` : `? AS c${i}`)).join(', ')}`
        const [[mine]] = (await facade.query(sql, values)) as unknown as [[Record<string, unknown>]]
        const [[theirs]] = (await plain.query(sql, values)) as unknown as [[Record<string, unknown>]]
        expect(mine, JSON.stringify(values, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toEqual(theirs)
      }
    } finally {
      await plain.end()
      await lifespan.shutdown()
    }
  })

  it('a connection option the alias does not have is refused with ERR_LIFESPAN_UNSUPPORTED_OPTION naming it; where to connect and pool sizes are the alias\'s', () => {
    const lifespan = lifespanFor()
    const driver = lifespan.driver()
    expect(() => driver.createPool({ charset: 'latin1_swedish_ci' })).toThrow(expect.objectContaining({ code: ErrorCodes.UNSUPPORTED_OPTION, message: expect.stringContaining('`charset`') }))
    expect(() => driver.createConnection({ multipleStatements: true })).toThrow(expect.objectContaining({ code: ErrorCodes.UNSUPPORTED_OPTION, message: expect.stringContaining('`multipleStatements`') }))
    expect(() => driver.createPool({ database: 'elsewhere' })).toThrow(expect.objectContaining({ code: ErrorCodes.UNSUPPORTED_OPTION }))
    expect(() => driver.createPool({ host: 'elsewhere', user: 'x', connectionLimit: 50, supportBigNumbers: true })).not.toThrow()
    expect(() => driver.createPoolCluster()).toThrow(expect.objectContaining({ code: ErrorCodes.UNSUPPORTED_OPTION }))
  })

  it('the alias\'s connectionLimit wins over the tools\' pool sizes', async () => {
    const lifespan = lifespanFor({ url: `${mysqlUrl()}${mysqlUrl().includes('?') ? '&' : '?'}connectionLimit=2` })
    const s = new Sequelize('test', '', '', { dialect: 'mysql', dialectModule: lifespan.driver(), logging: false, pool: { max: 10 } })
    const k = makeTool('knex', { lifespan }, 'unused')
    let most = 0
    const watch = setInterval(() => (most = Math.max(most, lifespan.stats().aliases.default!.open)), 5)
    const reads = [
      ...Array.from({ length: 6 }, () => s.query('SELECT SLEEP(0.1) AS s', { type: QueryTypes.SELECT })),
      ...Array.from({ length: 6 }, () => k.read('SELECT SLEEP(0.1) AS s')),
    ]
    await Promise.all(reads)
    clearInterval(watch)
    await sleep(20)
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(2)
    expect(lifespan.stats().aliases.default!.created).toBeLessThanOrEqual(2)
    await s.close()
    await k.close()
  })
})

describe('facade rules', () => {
  it('a connection released inside the tool\'s transaction is rolled back before anyone else gets it', async () => {
    const t = tableName('o_abandon')
    await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB`)
    const lifespan = lifespanFor({ url: oneConnection() })
    const pool = lifespan.pool()
    const conn = await new Promise<import('mysql2').PoolConnection>((resolve, reject) => pool.getConnection((err, c) => (err ? reject(err) : resolve(c))))
    const run = (sql: string): Promise<unknown> => new Promise((resolve, reject) => conn.query(sql, (err, rows) => (err ? reject(err) : resolve(rows))))
    await run('START TRANSACTION')
    await run(`INSERT INTO ${t} (v) VALUES ('abandoned')`)
    conn.release()
    const [[next]] = (await lifespan.db().query(`SELECT COUNT(*) AS c, @@in_transaction AS tx FROM ${t}`)) as unknown as [[{ c: number; tx: number }]]
    expect(Number(next.c)).toBe(0)
    expect(Number(next.tx)).toBe(0)
    expect(lifespan.stats().aliases.default!.rollbacks + lifespan.stats().aliases.default!.resets).toBeGreaterThanOrEqual(1)
  })

  it('inside db().transaction() a tool\'s statements join that transaction; a tool transaction there is refused', async () => {
    const t = tableName('o_join')
    await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB`)
    const lifespan = lifespanFor()
    const api = makeTool('knex', { lifespan }, t)
    const err = await lifespan
      .db()
      .transaction(async (tx) => {
        await api.insert('joined')
        const [[own]] = (await tx.query(`SELECT COUNT(*) AS c FROM ${t}`)) as unknown as [[{ c: number }]]
        expect(Number(own.c)).toBe(1)
        await api.transaction(async (trx) => trx.insert('nested'))
      })
      .then(() => undefined, (e: unknown) => e)
    expect(err).toMatchObject({ code: ErrorCodes.NESTED_TRANSACTION })
    // The outer transaction rolled back: nothing of it, the tool's insert included, was committed.
    expect(await admin(`SELECT v FROM ${t}`)).toEqual([])
    await api.close()
  })

  it('an ended pool facade refuses with ERR_LIFESPAN_FACADE_ENDED; the lifespan and other facades go on', async () => {
    const lifespan = lifespanFor()
    const ended = lifespan.pool()
    await new Promise<void>((resolve) => ended.end(() => resolve()))
    const err = await new Promise((resolve) => ended.getConnection((e) => resolve(e)))
    expect(err).toMatchObject({ code: ErrorCodes.FACADE_ENDED })
    await expect(lifespan.pool().promise().query('SELECT 1 AS one')).resolves.toBeDefined()
  })

  it("the promise forms show the caller in a failed statement's stack, as mysql2/promise does; trace: false leaves it out", async () => {
    const lifespan = lifespanFor()
    const plain = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 1 })
    const bad = 'SELECT * FROM no_such_table_for_stacks'
    // Named functions: their names must appear in the stack of a traced failure.
    async function callerOfPlain(): Promise<unknown> {
      return plain.promise().query(bad).catch((e: unknown) => e)
    }
    async function callerOfFacade(): Promise<unknown> {
      return lifespan.pool().promise().query(bad).catch((e: unknown) => e)
    }
    async function callerOfHeldConnection(): Promise<unknown> {
      const conn = await lifespan.pool().promise().getConnection()
      try {
        return await conn.query(bad).catch((e: unknown) => e)
      } finally {
        conn.release()
      }
    }
    async function callerUntraced(): Promise<unknown> {
      return lifespan.driver().createPoolPromise({ trace: false }).query(bad).catch((e: unknown) => e)
    }
    try {
      const plainErr = (await callerOfPlain()) as Error & { code?: string }
      expect(plainErr.stack).toContain('callerOfPlain')
      for (const [name, caller] of [['callerOfFacade', callerOfFacade], ['callerOfHeldConnection', callerOfHeldConnection]] as const) {
        const err = (await caller()) as Error & { code?: string; errno?: number }
        // The server's error itself, with its fields; only its stack names the caller.
        expect(err.code).toBe('ER_NO_SUCH_TABLE')
        expect(err.code).toBe(plainErr.code)
        expect(err.stack?.split('\n')[0]).toBe(`${err.name}: ${err.message}`)
        expect(err.stack).toContain(name)
      }
      const untraced = (await callerUntraced()) as Error & { code?: string }
      expect(untraced.code).toBe('ER_NO_SUCH_TABLE')
      expect(untraced.stack).not.toContain('callerUntraced')
    } finally {
      await plain.end()
      await lifespan.shutdown()
    }
  })
})
