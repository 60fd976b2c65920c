/**
 * TypeORM on mysql-lifespan: `new DataSource({ type: 'mysql', driver: lifespan.driver(), … })`.
 * Host, user and password are the alias's; `database` must be the alias's database.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test node examples/.build/typeorm/app.js
 */
import { createLifespan } from 'mysql-lifespan'
import { DataSource, EntitySchema } from 'typeorm'

interface Person {
  id: number
  name: string
}
const PersonEntity = new EntitySchema<Person>({
  name: 'Person',
  tableName: 'example_typeorm',
  columns: { id: { type: Number, primary: true, generated: true }, name: { type: String, length: 40 } },
})

const url = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
const lifespan = createLifespan({ databases: { default: url } })
const source = new DataSource({ type: 'mysql', driver: lifespan.driver(), database: new URL(url).pathname.slice(1), entities: [PersonEntity], synchronize: true })

await lifespan.run(async () => {
  await source.initialize()
  await lifespan.scope(async () => {
    await source.transaction(async (manager) => {
      await manager.getRepository(PersonEntity).insert([{ name: 'ada' }, { name: 'grace' }])
    })
    const people = await source.getRepository(PersonEntity).find({ order: { id: 'ASC' } })
    console.log(people.map((p) => p.name).join(', '))
  })
  await source.query('DROP TABLE example_typeorm')
  await source.destroy()
})
