/**
 * Knex 3.3 on mysql-lifespan: `knex({ client: 'mysql2', connectionPool: lifespan.pool() })`.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test node examples/.build/knex/app.js
 */
import knex from 'knex'
import { createLifespan } from 'mysql-lifespan'

const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' } })
const db = knex({ client: 'mysql2', connectionPool: lifespan.pool() })

await lifespan.run(async () => {
  if (!(await db.schema.hasTable('example_knex'))) {
    await db.schema.createTable('example_knex', (t) => {
      t.increments('id')
      t.string('name', 40).notNullable()
    })
  }
  await lifespan.scope(async () => {
    await db.transaction(async (trx) => {
      await trx('example_knex').insert({ name: 'ada' })
      await trx('example_knex').insert({ name: 'grace' })
    })
    const rows: Array<{ name: string }> = await db('example_knex').select('name').orderBy('id')
    console.log(rows.map((r) => r.name).join(', '))
  })
  await db.schema.dropTable('example_knex')
  await db.destroy()
})
