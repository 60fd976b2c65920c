/**
 * The five tools behind one small interface, each twice: plugged into mysql-lifespan (the plug-in
 * line of the README) and on its normal set-up (its own mysql2 pool). The ORM tests, the ORM fault
 * client and the benchmarks drive every tool through this, so each scenario is written once.
 * Every table used here is `(id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))`.
 */
import { Readable } from 'node:stream'
import { asc, eq, sql as dsql } from 'drizzle-orm'
import { int, mysqlTable, varchar } from 'drizzle-orm/mysql-core'
import { drizzle } from 'drizzle-orm/mysql2'
import knexFactory from 'knex'
import { type Generated, Kysely, MysqlDialect, type MysqlPool, sql as ksql } from 'kysely'
import mysql from 'mysql2'
import { DataTypes, QueryTypes, Sequelize } from 'sequelize'
import { DataSource, EntitySchema } from 'typeorm'
import type { DriverFacade, PoolFacade } from 'mysql-lifespan'

/** The tools under test. */
export const TOOLS = ['kysely', 'drizzle', 'knex', 'typeorm', 'sequelize'] as const
export type ToolName = (typeof TOOLS)[number]

/** What a transaction callback may do. */
export interface ToolTx {
  insert(v: string): Promise<void>
  read(sql: string): Promise<Array<Record<string, unknown>>>
}

/** One tool instance, through its own API. */
export interface ToolApi {
  insert(v: string): Promise<void>
  /** Sets `v` of the rows with `from` to `to`; resolves to the tool's count of changed rows. */
  update(from: string, to: string): Promise<number>
  remove(v: string): Promise<void>
  /** `v` of the row `id`, through the tool's query API (the benchmarks' read). */
  byId(id: number): Promise<string | undefined>
  /** `v` of every row, by id. */
  values(): Promise<string[]>
  /** Runs a raw statement through the tool; rows for a SELECT. */
  read(sql: string): Promise<Array<Record<string, unknown>>>
  transaction(fn: (tx: ToolTx) => Promise<void>): Promise<void>
  /** `v` of every row, by id, through the tool's streaming API; undefined when the tool has none. */
  stream?: () => AsyncIterable<string>
  /** A statement cancelled by the tool after `ms`; undefined when the tool cannot cancel. */
  cancel?: (sql: string, ms: number) => Promise<unknown>
  close(): Promise<void>
}

/** What the tools need of a lifespan: structural, so the tests' (src) and the compiled clients' (dist) both fit. */
export interface FacadeSource {
  pool(alias?: string): PoolFacade
  driver(alias?: string): DriverFacade
}

/**
 * Where a tool runs: mysql-lifespan's facade, or a mysql2 pool of its own. `mysql2Pool`: Knex gets a
 * mysql2 pool through `connectionPool` (the facade's path inside Knex) instead of its own tarn pool.
 * `wrapPool`: Kysely gets its own pool through this wrapper (the benchmarks' sensitivity control).
 */
export type Target = { lifespan: FacadeSource } | { url: string; pool: number; mysql2Pool?: boolean; wrapPool?: (pool: mysql.Pool) => MysqlPool }

function urlParts(url: string): { host: string; port: number; user: string; password: string; database: string } {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1) }
}

interface KyselyDB {
  [table: string]: { id: Generated<number>; v: string }
}

/** Kysely's own mysql2 pool, behind `wrapPool` when the target has one (the benchmarks' sensitivity control). */
function ownKyselyPool(target: Exclude<Target, { lifespan: FacadeSource }>): MysqlPool {
  const pool = mysql.createPool({ uri: target.url, connectionLimit: target.pool })
  return target.wrapPool ? target.wrapPool(pool) : pool
}

function kysely(target: Target, table: string): ToolApi {
  const pool = 'lifespan' in target ? target.lifespan.pool() : ownKyselyPool(target)
  const db = new Kysely<KyselyDB>({ dialect: new MysqlDialect({ pool }) })
  const cancel = async (s: string, ms: number): Promise<unknown> => {
    const signal = AbortSignal.timeout(ms)
    return ksql.raw(s).execute(db, { signal, inflightQueryAbortStrategy: 'cancel query' })
  }
  const read = async (q: Kysely<KyselyDB>, s: string) => (await ksql.raw<Record<string, unknown>>(s).execute(q)).rows
  return {
    insert: async (v) => void (await db.insertInto(table).values({ v }).execute()),
    update: async (from, to) => Number((await db.updateTable(table).set({ v: to }).where('v', '=', from).executeTakeFirst()).numUpdatedRows),
    remove: async (v) => void (await db.deleteFrom(table).where('v', '=', v).execute()),
    byId: async (id) => (await db.selectFrom(table).select('v').where('id', '=', id).executeTakeFirst())?.v,
    values: async () => (await db.selectFrom(table).select('v').orderBy('id').execute()).map((r) => r.v),
    read: (s) => read(db, s),
    transaction: (fn) =>
      db.transaction().execute((trx) => fn({ insert: async (v) => void (await trx.insertInto(table).values({ v }).execute()), read: (s) => read(trx, s) })),
    stream: async function* () {
      for await (const row of db.selectFrom(table).select('v').orderBy('id').stream()) yield row.v
    },
    cancel,
    close: () => db.destroy(),
  }
}

function drizzleTool(target: Target, table: string): ToolApi {
  const rows = mysqlTable(table, { id: int('id').primaryKey().autoincrement(), v: varchar('v', { length: 40 }).notNull() })
  const db = drizzle({ client: 'lifespan' in target ? target.lifespan.pool() : mysql.createPool({ uri: target.url, connectionLimit: target.pool }) })
  type Db = Pick<typeof db, 'execute' | 'insert'>
  const read = async (q: Db, s: string) => (await q.execute(dsql.raw(s)))[0] as unknown as Array<Record<string, unknown>>
  const insert = async (q: Db, v: string) => void (await q.insert(rows).values({ v }))
  return {
    insert: (v) => insert(db, v),
    update: async (from, to) => (await db.update(rows).set({ v: to }).where(eq(rows.v, from)))[0].affectedRows,
    remove: async (v) => void (await db.delete(rows).where(eq(rows.v, v))),
    byId: async (id) => (await db.select({ v: rows.v }).from(rows).where(eq(rows.id, id)))[0]?.v,
    values: async () => (await db.select({ v: rows.v }).from(rows).orderBy(asc(rows.id))).map((r) => r.v),
    read: (s) => read(db, s),
    transaction: (fn) => db.transaction((tx) => fn({ insert: (v) => insert(tx, v), read: (s) => read(tx, s) })),
    stream: async function* () {
      for await (const row of db.select({ v: rows.v }).from(rows).orderBy(asc(rows.id)).iterator()) yield row.v
    },
    close: () => new Promise<void>((resolve) => db.$client.end(() => resolve())),
  }
}

function knexTool(target: Target, table: string): ToolApi {
  const ownPool = !('lifespan' in target) && target.mysql2Pool ? mysql.createPool({ uri: target.url, connectionLimit: target.pool }) : undefined
  const k =
    'lifespan' in target
      ? knexFactory({ client: 'mysql2', connectionPool: target.lifespan.pool() })
      : ownPool
        ? // Knex 3.3's typings want `end(cb: (err?: Error) => void)`, which mysql2's Pool type does not declare (lifespan.pool() does).
          knexFactory({ client: 'mysql2', connectionPool: ownPool as unknown as PoolFacade })
        : knexFactory({ client: 'mysql2', connection: target.url, pool: { min: 0, max: target.pool } })
  const read = async (q: knexFactory.Knex | knexFactory.Knex.Transaction, s: string) => ((await q.raw(s)) as [Array<Record<string, unknown>>])[0]
  return {
    insert: async (v) => void (await k(table).insert({ v })),
    update: (from, to) => k(table).where({ v: from }).update({ v: to }),
    remove: async (v) => void (await k(table).where({ v }).del()),
    byId: async (id) => ((await k(table).select('v').where({ id }).first()) as { v: string } | undefined)?.v,
    values: async () => (await k(table).select('v').orderBy('id')).map((r: { v: string }) => r.v),
    read: (s) => read(k, s),
    transaction: (fn) => k.transaction((trx) => fn({ insert: async (v) => void (await trx(table).insert({ v })), read: (s) => read(trx, s) })),
    stream: async function* () {
      for await (const row of k(table).select('v').orderBy('id').stream() as Readable) yield (row as { v: string }).v
    },
    cancel: (s, ms) => k.raw(s).timeout(ms, { cancel: true }),
    // Knex leaves a pool given through connectionPool to its owner.
    close: async () => {
      await k.destroy()
      await ownPool?.promise().end()
    },
  }
}

function typeorm(target: Target, table: string): ToolApi {
  const entity = new EntitySchema<{ id: number; v: string }>({
    name: table,
    tableName: table,
    columns: { id: { type: Number, primary: true, generated: true }, v: { type: String } },
  })
  const source =
    'lifespan' in target
      ? new DataSource({ type: 'mysql', driver: target.lifespan.driver(), database: 'test', entities: [entity] })
      : new DataSource({ type: 'mysql', ...urlParts(target.url), username: urlParts(target.url).user, poolSize: target.pool, entities: [entity] })
  const ready = source.initialize()
  // Awaited by every method; a test that ends before using the tool must not leave it unhandled.
  ready.catch(() => {})
  const repo = async () => (await ready).getRepository(entity)
  return {
    insert: async (v) => void (await (await repo()).insert({ v })),
    update: async (from, to) => (await (await repo()).update({ v: from }, { v: to })).affected ?? -1,
    remove: async (v) => void (await (await repo()).delete({ v })),
    byId: async (id) => (await (await repo()).findOneBy({ id }))?.v,
    values: async () => (await (await repo()).find({ order: { id: 'ASC' } })).map((r) => r.v),
    read: async (s) => (await ready).query(s),
    transaction: async (fn) =>
      (await ready).transaction(async (em) =>
        fn({ insert: async (v) => void (await em.getRepository(entity).insert({ v })), read: (s) => em.query(s) }),
      ),
    stream: async function* () {
      const runner = (await ready).createQueryRunner()
      try {
        const rows = await runner.stream(`SELECT v FROM ${table} ORDER BY id`)
        for await (const row of rows) yield (row as { v: string }).v
      } finally {
        await runner.release()
      }
    },
    close: async () => {
      await ready.catch(() => {})
      if (source.isInitialized) await source.destroy()
    },
  }
}

function sequelize(target: Target, table: string): ToolApi {
  const s =
    'lifespan' in target
      ? // pool.max bounds Sequelize's statements at once: the alias's connectionLimit (10 in the tests and benchmarks), as the README advises.
        new Sequelize('test', '', '', { dialect: 'mysql', dialectModule: target.lifespan.driver(), logging: false, pool: { max: 10 } })
      : new Sequelize(target.url, { dialect: 'mysql', logging: false, pool: { max: target.pool, min: 0 } })
  const Row = s.define('row', { v: { type: DataTypes.STRING(40), allowNull: false } }, { tableName: table, timestamps: false })
  const read = (q: string, transaction?: import('sequelize').Transaction) => s.query<Record<string, unknown>>(q, { type: QueryTypes.SELECT, transaction })
  return {
    insert: async (v) => void (await Row.create({ v })),
    update: async (from, to) => (await Row.update({ v: to }, { where: { v: from } }))[0],
    remove: async (v) => void (await Row.destroy({ where: { v } })),
    byId: async (id) => (await Row.findByPk(id))?.get('v') as string | undefined,
    values: async () => (await Row.findAll({ order: [['id', 'ASC']] })).map((r) => r.get('v') as string),
    read: (q) => read(q),
    transaction: (fn) =>
      s.transaction(async (transaction) => fn({ insert: async (v) => void (await Row.create({ v }, { transaction })), read: (q) => read(q, transaction) })),
    close: () => s.close(),
  }
}

/** Codes of a tool's errors live on the error, its `cause` (Drizzle), `original` (Sequelize) or `driverError` (TypeORM). */
export function toolErrorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown }; original?: { code?: unknown }; driverError?: { code?: unknown } } | null
  const code = e?.original?.code ?? e?.driverError?.code ?? e?.cause?.code ?? e?.code
  return code === undefined || code === null ? String((err as Error)?.name ?? 'NO_CODE') : String(code)
}

const FACTORIES: Record<ToolName, (target: Target, table: string) => ToolApi> = {
  kysely,
  drizzle: drizzleTool,
  knex: knexTool,
  typeorm,
  sequelize,
}

/** `tool` on `target`, working on `table`. */
export function makeTool(tool: ToolName, target: Target, table: string): ToolApi {
  return FACTORIES[tool](target, table)
}
