/**
 * Type-level test, compiled by `npm run typecheck` (never run): each tool's plug-in line exactly
 * as the README gives it, without a cast. A facade type that stops fitting a tool fails the build.
 */
import { drizzle } from 'drizzle-orm/mysql2'
import knex from 'knex'
import { Kysely, MysqlDialect } from 'kysely'
import { Sequelize } from 'sequelize'
import { DataSource } from 'typeorm'
import { createLifespan } from '../../src/index.js'

const lifespan = createLifespan({ databases: { default: 'mysql://app:secret@db:3306/app' } })

export const kysely = new Kysely<Record<string, never>>({ dialect: new MysqlDialect({ pool: lifespan.pool() }) })
export const drizzleDb = drizzle({ client: lifespan.pool() })
export const drizzlePositional = drizzle(lifespan.pool())
export const knexDb = knex({ client: 'mysql2', connectionPool: lifespan.pool() })
export const typeorm = new DataSource({ type: 'mysql', driver: lifespan.driver(), database: 'app' })
export const sequelize = new Sequelize('app', '', '', { dialect: 'mysql', dialectModule: lifespan.driver() })
// Another alias, and the promise forms.
export const reportsPool = lifespan.pool('default').promise()
export const promisePool = lifespan.driver().createPoolPromise()
