/**
 * One process of the paired ORM overhead measure (orm.ts): the same tool twice in one process, on
 * its own mysql2 pool and on mysql-lifespan, read by id at a fixed concurrency in short windows
 * that alternate between the two. Both sides then share the machine's state (CPU speed, the other
 * work on it, the server's caches) window by window, which separate processes measured minutes
 * apart do not. Per side: reads per second and the process's CPU time per read.
 *
 * Fair because the lifespan side runs every read outside any scope: that path never enters
 * AsyncLocalStorage, so Node 20's promise hooks stay off and the plain side pays nothing for
 * sharing the process. `scoped`: three reads per unit on both sides, in a `lifespan.scope()` on
 * mysql-lifespan and in an AsyncLocalStorage context of the benchmark's own on the plain side (as
 * an APM or a framework's request context would open): both sides then pay the promise hooks.
 * `control`: two plain instances (the second one in the place of mysql-lifespan), to show the
 * measure's own bias and spread; with `spinNs`, the second one's pool spends that much CPU per
 * checkout, to show how the measure answers a known small cost.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createLifespan } from 'mysql-lifespan'
import { makeTool, type ToolApi } from '../test/orm/support/tools.js'
import { readFor, readRandomRow, readThreeRows, type ReadsConfig, runWorker } from './lib/orm-reads.js'
import { spinningPool } from './lib/spin-pool.js'

interface Config extends ReadsConfig {
  /** Which side is created (and warmed) first: alternated by round, the first-made instance may differ. */
  first: 'plain' | 'lifespan'
  control: boolean
  /** With `control`: the second plain instance's pool spends this much CPU per `getConnection` (Kysely only; see lib/spin-pool.ts). */
  spinNs?: number
  /** Three reads per unit: in a scope on mysql-lifespan, in an AsyncLocalStorage context on the plain side. */
  scoped?: boolean
  windows: number
}

interface Tally {
  reads: number
  cpuUs: number
  wallUs: number
}

async function main(config: Config): Promise<void> {
  const lifespan = config.control ? undefined : createLifespan({ databases: { default: { uri: config.url, connectionLimit: config.pool } } })
  const spinNs = config.control ? config.spinNs : undefined
  const make = (side: 'plain' | 'lifespan'): ToolApi => {
    if (side === 'lifespan' && lifespan) return makeTool(config.tool, { lifespan }, config.table)
    if (side === 'lifespan' && spinNs !== undefined) return makeTool(config.tool, { url: config.url, pool: config.pool, wrapPool: (pool) => spinningPool(pool, spinNs) }, config.table)
    return makeTool(config.tool, { url: config.url, pool: config.pool }, config.table)
  }
  const order = config.first === 'plain' ? (['plain', 'lifespan'] as const) : (['lifespan', 'plain'] as const)
  const apis = new Map<'plain' | 'lifespan', ToolApi>()
  for (const side of order) apis.set(side, make(side))

  const three = (api: ToolApi): Promise<number> => readThreeRows(api, config.rows)
  // Made only when scoped: the unscoped pairs never touch AsyncLocalStorage.
  const context = config.scoped ? new AsyncLocalStorage<{ request: number }>() : undefined
  let requests = 0
  const unitOf = (side: 'plain' | 'lifespan', api: ToolApi): (() => Promise<number>) => {
    if (!context) return () => readRandomRow(api, config.rows).then(() => 1)
    if (side === 'lifespan' && lifespan) return () => lifespan.scope(() => three(api))
    return () => context.run({ request: ++requests }, () => three(api))
  }
  const units = new Map([...apis].map(([side, api]) => [side, unitOf(side, api)]))
  const run = (side: 'plain' | 'lifespan', ms: number): Promise<number> => readFor(ms, config.concurrency, units.get(side)!)
  for (const side of order) await run(side, config.warmupMs)

  const tally = { plain: { reads: 0, cpuUs: 0, wallUs: 0 }, lifespan: { reads: 0, cpuUs: 0, wallUs: 0 } } satisfies Record<string, Tally>
  for (let w = 0; w < config.windows; w++) {
    for (const side of w % 2 === 0 ? order : [...order].reverse()) {
      const cpu = process.cpuUsage()
      const started = process.hrtime.bigint()
      const reads = await run(side, config.windowMs)
      const used = process.cpuUsage(cpu)
      tally[side].reads += reads
      tally[side].cpuUs += used.user + used.system
      tally[side].wallUs += Number(process.hrtime.bigint() - started) / 1e3
    }
  }
  const report = (t: Tally) => ({ opsPerSec: (t.reads / t.wallUs) * 1e6, cpuUsPerRead: t.cpuUs / t.reads })
  process.stdout.write(`${JSON.stringify({ event: 'result', plain: report(tally.plain), lifespan: report(tally.lifespan) })}\n`)
  for (const api of apis.values()) await api.close()
  await lifespan?.shutdown()
}

runWorker(main)
