/**
 * One measured process of the ORM overhead measure (orm.ts): one tool, on its own mysql2 pool
 * (`plain`) or on mysql-lifespan (`lifespan`, the README's plug-in line), reading rows by id
 * through the tool's query API at a fixed concurrency. Prints one JSON line with operations/s.
 */
import { createLifespan } from 'mysql-lifespan'
import { makeTool } from '../test/orm/support/tools.js'
import { readFor, readRandomRow, readThreeRows, type ReadsConfig, runWorker } from './lib/orm-reads.js'

interface Config extends ReadsConfig {
  /**
   * `scoped`: on mysql-lifespan, three reads per scope (a request's queries sharing its connection).
   * `mysql2Pool`: Knex on a plain mysql2 pool given through `connectionPool` (the facade's path inside Knex).
   */
  variant: 'plain' | 'mysql2Pool' | 'lifespan' | 'scoped'
}

async function main(config: Config): Promise<void> {
  const onLifespan = config.variant === 'lifespan' || config.variant === 'scoped'
  const lifespan = onLifespan ? createLifespan({ databases: { default: { uri: config.url, connectionLimit: config.pool } } }) : undefined
  const api = makeTool(config.tool, lifespan ? { lifespan } : { url: config.url, pool: config.pool, mysql2Pool: config.variant === 'mysql2Pool' }, config.table)
  const read = (): Promise<number> => readRandomRow(api, config.rows).then(() => 1)
  // Three reads in one scope, as a request's queries behind an adapter.
  const three = (): Promise<number> => readThreeRows(api, config.rows)
  const unit = config.variant === 'scoped' && lifespan ? () => lifespan.scope(three) : read
  const run = (ms: number): Promise<number> => readFor(ms, config.concurrency, unit)
  await run(config.warmupMs)
  const started = process.hrtime.bigint()
  const ops = await run(config.windowMs)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  process.stdout.write(`${JSON.stringify({ event: 'result', opsPerSec: ops / seconds })}\n`)
  await api.close()
  await lifespan?.shutdown()
}

runWorker(main)
