/**
 * The behaviour every tool must show on mysql-lifespan, written once and run per tool by
 * test/orm/<tool>.test.ts against the shared server (network faults through a fault proxy in front
 * of it, which touches only the test's own connections). The destructive faults of the demo are in
 * test/orm/faults.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { throughProxy } from '../../../demo/scenarios.js'
import type { Lifespan } from '../../../src/index.js'
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.js'
import { admin, connectedAfter, lifespanFor, mysqlUrl, runningAfter, sleep, tableName } from '../../support/env.js'
import { makeTool, type ToolApi, type ToolName, toolErrorCode } from './tools.js'

async function table(prefix: string): Promise<string> {
  const t = tableName(prefix)
  await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB`)
  return t
}

async function rowsOf(t: string): Promise<string[]> {
  return (await admin<Array<{ v: string }>>(`SELECT v FROM ${t} ORDER BY id`)).map((r) => r.v)
}

/** Waits until no connection is leased (a dirty session is reset before it goes back, which takes a round trip). */
async function allBack(lifespan: Lifespan): Promise<number> {
  for (let i = 0; i < 100 && lifespan.stats().aliases.default!.inUse > 0; i++) await sleep(20)
  return lifespan.stats().aliases.default!.inUse
}

const idOf = (rows: Array<Record<string, unknown>>): number => Number(rows[0]!.id)

/** A tool on a lifespan, closed after the test with the lifespan (env.ts shuts lifespans down). */
function onLifespan(tool: ToolName, lifespan: Lifespan, t: string): ToolApi {
  return makeTool(tool, { lifespan }, t)
}

/** Registers the shared tests of `tool`. */
export function describeTool(tool: ToolName): void {
  let proxy: FaultProxy
  let proxied: string

  beforeAll(async () => {
    const u = new URL(mysqlUrl())
    proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port || 3306) })
    proxied = throughProxy(mysqlUrl(), proxy)
  })
  afterAll(async () => {
    await proxy?.close()
  })

  describe(`${tool} on mysql-lifespan`, () => {
    it('CRUD through the tool\'s API', async () => {
      const t = await table(`o_crud_${tool}`)
      const lifespan = lifespanFor()
      const api = onLifespan(tool, lifespan, t)
      await api.insert('a')
      await api.insert('b')
      await api.transaction(async (tx) => {
        await tx.insert('c')
      })
      await api.remove('a')
      expect(await api.update('b', 'B')).toBe(1)
      // Changed rows, not matched rows: Sequelize asks for -FOUND_ROWS, the others read changedRows or affectedRows.
      expect(await api.update('c', 'c')).toBe(tool === 'sequelize' ? 0 : 1)
      expect(await api.values()).toEqual(['B', 'c'])
      expect(await rowsOf(t)).toEqual(['B', 'c'])
      await api.close()
      expect(await allBack(lifespan)).toBe(0)
    })

    it('two tool queries in one scope use the scope\'s one connection; outside a scope each gets one and gives it back', async () => {
      const lifespan = lifespanFor()
      const api = onLifespan(tool, lifespan, 'unused')
      const [a, b] = await lifespan.scope(async () => [await api.read('SELECT CONNECTION_ID() AS id'), await api.read('SELECT CONNECTION_ID() AS id')])
      expect(idOf(a!)).toBe(idOf(b!))
      const [[viaDb]] = await lifespan.scope(async () => {
        await api.read('SELECT 1 AS one')
        return lifespan.db().query<Array<{ id: number }>>('SELECT CONNECTION_ID() AS id')
      }).then((r) => [r[0]] as const)
      expect(Number(viaDb!.id)).toBeGreaterThan(0)
      await api.read('SELECT 1 AS one')
      expect(await allBack(lifespan)).toBe(0)
      await api.close()
    })

    it('a read through the tool is one statement on the server: no setup, ping or reset per read in a scope', async () => {
      const t = await table(`o_stmts_${tool}`)
      await admin(`INSERT INTO ${t} (v) VALUES ('x')`)
      const lifespan = lifespanFor({ databases: { default: { uri: mysqlUrl(), connectionLimit: 1 } } })
      const api = onLifespan(tool, lifespan, t)
      // The server's count of statements received on this session (the scope's one connection),
      // read through the tool: a db() statement between them would put the handshake's time zone
      // back on the session for itself, and Sequelize's next read its own (two statements more).
      const questions = async (): Promise<number> => Number((await api.read("SHOW SESSION STATUS LIKE 'Questions'"))[0]!.Value)
      // First use: the tool's per-connection setup (Sequelize's time zone) may take a statement once.
      await lifespan.scope(() => api.byId(1))
      const sent = await lifespan.scope(async () => {
        const before = await questions()
        for (let i = 0; i < 3; i++) expect(await api.byId(1)).toBe('x')
        return (await questions()) - before
      })
      // The three reads and the second SHOW, nothing else.
      expect(sent).toBe(4)
      await api.close()
    })

    it('a transaction the tool opens belongs to it: the scope\'s other statements run beside it, never inside it', async () => {
      const t = await table(`o_own_${tool}`)
      const lifespan = lifespanFor()
      const api = onLifespan(tool, lifespan, t)
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      let inside!: () => void
      const opened = new Promise<void>((resolve) => (inside = resolve))
      const seen = await lifespan.scope(async () => {
        let txId = 0
        const tx = api.transaction(async (trx) => {
          await trx.insert('in-tx')
          txId = idOf(await trx.read('SELECT CONNECTION_ID() AS id'))
          inside()
          await gate
        })
        await opened
        // The scope's own statements meanwhile: through db() and through the tool outside its transaction.
        const [viaDb] = await lifespan.db().query<Array<{ c: number; id: number }>>(`SELECT COUNT(*) AS c, CONNECTION_ID() AS id FROM ${t} WHERE v = 'in-tx'`)
        const viaTool = await api.read(`SELECT COUNT(*) AS c, CONNECTION_ID() AS id FROM ${t} WHERE v = 'in-tx'`)
        await lifespan.db().query(`INSERT INTO ${t} (v) VALUES ('beside')`)
        release()
        await tx
        return { txId, db: viaDb[0]!, tool: viaTool[0]! }
      })
      expect(Number(seen.db.c)).toBe(0)
      expect(Number(seen.tool.c)).toBe(0)
      expect(Number(seen.db.id)).not.toBe(seen.txId)
      expect(Number(seen.tool.id)).not.toBe(seen.txId)
      expect((await rowsOf(t)).sort()).toEqual(['beside', 'in-tx'])
      expect(await allBack(lifespan)).toBe(0)
      await api.close()
    })

    it('a cut inside the tool\'s transaction: the tool rejects, nothing of it is committed, the next transaction works', async () => {
      const t = await table(`o_cut_${tool}`)
      const lifespan = lifespanFor({ url: proxied })
      const api = onLifespan(tool, lifespan, t)
      await api.read('SELECT 1 AS warm')
      const marker = `cut_in_tx_${t}`
      const cut = proxy.cutNextResponse((sql) => sql.includes(marker))
      const err = await api
        .transaction(async (tx) => {
          await tx.insert('first')
          await tx.read(`SELECT '${marker}' AS m`)
          await tx.insert('second')
        })
        .then(() => undefined, (e: unknown) => e)
      await cut
      expect(err).toBeDefined()
      expect(await rowsOf(t)).toEqual([])
      await api.transaction(async (tx) => {
        await tx.insert('next')
      })
      expect(await rowsOf(t)).toEqual(['next'])
      await api.close()
    })

    it('a write whose reply is cut is not re-run: the tool rejects, the row exists once', async () => {
      const t = await table(`o_cutw_${tool}`)
      const lifespan = lifespanFor({ url: proxied })
      const api = onLifespan(tool, lifespan, t)
      await api.read('SELECT 1 AS warm')
      // Sequelize sends its INSERT as a prepared statement, whose COM_STMT_EXECUTE carries no text ('').
      const cut = proxy.cutNextResponse((sql) => sql === '' || (/^\s*insert/i.test(sql) && sql.includes(t)))
      const err = await api.insert('once').then(() => undefined, (e: unknown) => e)
      await cut
      expect(err).toBeDefined()
      expect(await rowsOf(t)).toEqual(['once'])
      expect(await api.values()).toEqual(['once'])
      await api.close()
    })

    it('a read whose reply is cut is re-run on a fresh connection: the tool never sees it', async () => {
      const lifespan = lifespanFor({ url: proxied })
      const api = onLifespan(tool, lifespan, 'unused')
      await api.read('SELECT 1 AS warm')
      const marker = `cut_read_${tool}_${process.pid}`
      const cut = proxy.cutNextResponse((sql) => sql.includes(marker))
      const rows = await api.read(`SELECT 7 AS v, '${marker}' AS m`)
      await cut
      expect(Number(rows[0]!.v)).toBe(7)
      expect(lifespan.stats().aliases.default!.retries).toBe(1)
      await api.close()
    })

    it('shutdown with tool queries in flight: every one finishes, nothing is left on the server', async () => {
      const lifespan = lifespanFor()
      const api = onLifespan(tool, lifespan, 'unused')
      await api.read('SELECT 1 AS warm')
      const running = Array.from({ length: 4 }, () => api.read('SELECT CONNECTION_ID() AS id, SLEEP(0.4) AS s'))
      await sleep(100)
      const report = await lifespan.shutdown({ timeoutMs: 5_000 })
      const results = await Promise.all(running)
      expect(results).toHaveLength(4)
      expect(report).toMatchObject({ clean: true, interrupted: 0 })
      expect(await connectedAfter(results.map(idOf), 2_000)).toEqual([])
      await expect(api.read('SELECT 1 AS late')).rejects.toBeDefined()
      await api.close()
    })

    it('strict mode holds through the tool: outside a scope it refuses with ERR_LIFESPAN_NO_SCOPE, inside it works', async () => {
      const lifespan = lifespanFor({ strict: true })
      // Set up inside a scope: TypeORM's initialize() and Sequelize's first connection run statements.
      const api = await lifespan.scope(async () => {
        const made = onLifespan(tool, lifespan, 'unused')
        await made.read('SELECT 0 AS zero')
        return made
      })
      const err = await api.read('SELECT 1 AS one').then(() => undefined, (e: unknown) => e)
      expect(toolErrorCode(err)).toBe('ERR_LIFESPAN_NO_SCOPE')
      const rows = await lifespan.scope(() => api.read('SELECT 1 AS one'))
      expect(Number(rows[0]!.one)).toBe(1)
      await api.close()
    })

    it('the tool\'s teardown ends its facade only: another tool instance and db() go on working', async () => {
      const lifespan = lifespanFor()
      const first = onLifespan(tool, lifespan, 'unused')
      await first.read('SELECT 1 AS one')
      await first.close()
      const second = onLifespan(tool, lifespan, 'unused')
      expect(Number((await second.read('SELECT 2 AS two'))[0]!.two)).toBe(2)
      await expect(lifespan.db().query('SELECT 3')).resolves.toBeDefined()
      await second.close()
    })

    it('cancellation through the tool stops the statement on the server, and no connection is left behind', async (ctx) => {
      const lifespan = lifespanFor()
      const api = onLifespan(tool, lifespan, 'unused')
      // Skipped for Drizzle, TypeORM and Sequelize: none of them has an API to cancel a running statement.
      if (!api.cancel) return ctx.skip(`${tool} cannot cancel a running statement`)
      await api.read('SELECT 1 AS warm')
      const marker = `cancel_${tool}_${process.pid}`
      // The same cancellation by the tool on its own mysql2 pool: the error the tool normally gives.
      const plain = makeTool(tool, { url: mysqlUrl(), pool: 2 }, 'unused')
      const reference = await plain.cancel!(`SELECT SLEEP(5) AS s, '${marker}' AS m`, 300).then(() => undefined, (e: unknown) => e)
      const err = await api.cancel(`SELECT SLEEP(5) AS s, '${marker}' AS m`, 300).then(() => undefined, (e: unknown) => e)
      expect(reference).toBeDefined()
      expect(err).toBeDefined()
      const knexTimeout = { name: 'KnexTimeoutError', message: 'Defined query timeout of 300ms exceeded when running query.', timeout: 300 }
      if (tool === 'knex') {
        // Knex 3.3 sends its KILL from a connection it opens itself, with empty settings when given
        // `connectionPool` (lib/dialects/mysql/index.js cancelQuery -> acquireRawConnection, settings
        // emptied in lib/client.js initializePool); that connection is refused (or, elsewhere, finds no
        // server), so Knex reports the cancel as failed: same message and `timeout`, not its timeout
        // error. The facade's destroy() stops the statement instead (checked below). README "Cancellation".
        expect(reference).toMatchObject(knexTimeout)
        expect(err).toMatchObject({ message: 'After query timeout of 300ms exceeded, cancelling of query failed.', timeout: 300 })
        expect((err as Error).name).not.toBe('KnexTimeoutError')
        expect(typeof (err as { code?: unknown }).code).toBe('string')
      } else {
        expect({ name: (err as Error).name, message: (err as Error).message }).toEqual({ name: (reference as Error).name, message: (reference as Error).message })
      }
      // SLEEP(5) would still be running for seconds had nothing reached the server.
      expect(await runningAfter(marker, 2_500)).toBe(0)
      expect(await allBack(lifespan)).toBe(0)
      expect(Number((await api.read('SELECT 1 AS one'))[0]!.one)).toBe(1)
      await api.close()
      await plain.close()
    })

    it('streaming: every row arrives and the connection goes back, also when the consumer stops early', async (ctx) => {
      const t = await table(`o_stream_${tool}`)
      const lifespan = lifespanFor()
      const api = onLifespan(tool, lifespan, t)
      // Skipped for Sequelize: it has no API that streams rows.
      if (!api.stream) return ctx.skip(`${tool} has no streaming API`)
      const values = Array.from({ length: 40 }, (_, i) => `r${String(i).padStart(2, '0')}`)
      await admin(`INSERT INTO ${t} (v) VALUES ${values.map((v) => `('${v}')`).join(',')}`)
      const all: string[] = []
      for await (const v of api.stream()) all.push(v)
      expect(all).toEqual(values)
      const some: string[] = []
      for await (const v of api.stream()) {
        some.push(v)
        if (some.length === 3) break
      }
      expect(some).toEqual(values.slice(0, 3))
      await sleep(50)
      expect(await allBack(lifespan)).toBe(0)
      expect(await api.values()).toEqual(values)
      await api.close()
    })
  })
}
