/**
 * Kysely on mysql-lifespan: `new MysqlDialect({ pool: lifespan.pool() })`.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test node examples/.build/kysely/app.js
 *
 * Each unit of work runs in a scope: Kysely's queries in it share the scope's validated
 * connection, and a Kysely transaction keeps a connection of its own until it commits.
 */
import { type Generated, Kysely, MysqlDialect } from 'kysely'
import { createLifespan } from 'mysql-lifespan'

interface DB {
  example_kysely: { id: Generated<number>; name: string }
}

const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' } })
const db = new Kysely<DB>({ dialect: new MysqlDialect({ pool: lifespan.pool() }) })

await lifespan.run(async () => {
  await db.schema.createTable('example_kysely').ifNotExists().addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()).addColumn('name', 'varchar(40)', (c) => c.notNull()).execute()
  await lifespan.scope(async () => {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('example_kysely').values({ name: 'ada' }).execute()
      await trx.insertInto('example_kysely').values({ name: 'grace' }).execute()
    })
    const rows = await db.selectFrom('example_kysely').select(['id', 'name']).orderBy('id').execute()
    console.log(rows.map((r) => r.name).join(', '))
  })
  await db.schema.dropTable('example_kysely').execute()
  // Kysely's destroy() ends its pool facade only; run() shuts the lifespan down after main.
  await db.destroy()
})
