/**
 * One measured process of the ORM overhead measure (orm.ts): one tool, on its own mysql2 pool
 * (`plain`) or on mysql-lifespan (`lifespan`, the README's plug-in line), reading rows by id
 * through the tool's query API at a fixed concurrency. Prints one JSON line with operations/s.
 */
import { createLifespan } from 'mysql-lifespan'
import { makeTool, type ToolName } from '../test/orm/support/tools.js'

interface Config {
  tool: ToolName
  /**
   * `scoped`: on mysql-lifespan, three reads per scope (a request's queries sharing its connection).
   * `mysql2Pool`: Knex on a plain mysql2 pool given through `connectionPool` (the facade's path inside Knex).
   */
  variant: 'plain' | 'mysql2Pool' | 'lifespan' | 'scoped'
  url: string
  table: string
  rows: number
  pool: number
  concurrency: number
  warmupMs: number
  windowMs: number
}

async function main(config: Config): Promise<void> {
  const onLifespan = config.variant === 'lifespan' || config.variant === 'scoped'
  const lifespan = onLifespan ? createLifespan({ databases: { default: { uri: config.url, connectionLimit: config.pool } } }) : undefined
  const api = makeTool(config.tool, lifespan ? { lifespan } : { url: config.url, pool: config.pool, mysql2Pool: config.variant === 'mysql2Pool' }, config.table)
  const run = async (ms: number): Promise<number> => {
    const end = Date.now() + ms
    let ops = 0
    await Promise.all(
      Array.from({ length: config.concurrency }, async () => {
        const read = async (): Promise<void> => {
          const v = await api.byId(1 + Math.floor(Math.random() * config.rows))
          if (v === undefined) throw new Error('row not found')
          ops++
        }
        const three = async (): Promise<void> => {
          await read()
          await read()
          await read()
        }
        while (Date.now() < end) {
          if (config.variant === 'scoped' && lifespan) await lifespan.scope(three)
          else await read()
        }
      }),
    )
    return ops
  }
  await run(config.warmupMs)
  const started = process.hrtime.bigint()
  const ops = await run(config.windowMs)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  process.stdout.write(`${JSON.stringify({ event: 'result', opsPerSec: ops / seconds })}\n`)
  await api.close()
  await lifespan?.shutdown()
}

main(JSON.parse(process.argv[2] ?? '{}') as Config).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stdout.write(`${JSON.stringify({ event: 'error', message: String((err as Error)?.stack ?? err) })}\n`)
    process.exit(1)
  },
)
