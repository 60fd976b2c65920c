/**
 * Drizzle on mysql-lifespan: `drizzle({ client: lifespan.pool() })`.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test node examples/.build/drizzle/app.js
 */
import { asc, sql } from 'drizzle-orm'
import { int, mysqlTable, varchar } from 'drizzle-orm/mysql-core'
import { drizzle } from 'drizzle-orm/mysql2'
import { createLifespan } from 'mysql-lifespan'

const people = mysqlTable('example_drizzle', { id: int('id').primaryKey().autoincrement(), name: varchar('name', { length: 40 }).notNull() })

const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' } })
const db = drizzle({ client: lifespan.pool() })

await lifespan.run(async () => {
  await db.execute(sql`CREATE TABLE IF NOT EXISTS example_drizzle (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL)`)
  await lifespan.scope(async () => {
    await db.transaction(async (tx) => {
      await tx.insert(people).values({ name: 'ada' })
      await tx.insert(people).values({ name: 'grace' })
    })
    const names: string[] = []
    // iterator() streams the rows; the connection goes back when the loop ends.
    for await (const row of db.select({ name: people.name }).from(people).orderBy(asc(people.id)).iterator()) names.push(row.name)
    console.log(names.join(', '))
  })
  await db.execute(sql`DROP TABLE example_drizzle`)
})
