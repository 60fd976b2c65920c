/**
 * Sequelize 6 on mysql-lifespan: `new Sequelize(database, '', '', { dialect: 'mysql', dialectModule: lifespan.driver() })`.
 * Host, user and password are the alias's; the database must be the alias's.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test node examples/.build/sequelize/app.js
 */
import { createLifespan } from 'mysql-lifespan'
import { DataTypes, Sequelize } from 'sequelize'

const url = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
const lifespan = createLifespan({ databases: { default: url } })
// Driver connections cost nothing: pool.max (5 by default) only bounds Sequelize's statements at once (README, Limits).
const sequelize = new Sequelize(new URL(url).pathname.slice(1), '', '', { dialect: 'mysql', dialectModule: lifespan.driver(), logging: false, pool: { max: 10 } })
const Person = sequelize.define('Person', { name: { type: DataTypes.STRING(40), allowNull: false } }, { tableName: 'example_sequelize', timestamps: false })

await lifespan.run(async () => {
  await Person.sync()
  await lifespan.scope(async () => {
    await sequelize.transaction(async (transaction) => {
      await Person.create({ name: 'ada' }, { transaction })
      await Person.create({ name: 'grace' }, { transaction })
    })
    const people = await Person.findAll({ order: [['id', 'ASC']] })
    console.log(people.map((p) => p.get('name')).join(', '))
  })
  await Person.drop()
  await sequelize.close()
})
