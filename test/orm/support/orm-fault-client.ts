/**
 * A fault client (the demo's protocol, demo/fault-client.ts) for the five tools: mode
 * `<tool>-plain` runs the tool on its own mysql2 pool, `<tool>_lifespan` on mysql-lifespan
 * (`lifespan.pool()` / `driver()`). Reads go through the tool's raw-query API, outside any scope,
 * as an application without a framework adapter would send them.
 */
import { createLifespan } from 'mysql-lifespan'
import { clientMain, type ClientConfig, type FaultClient, runFaultClient, WARM_SQL } from '../../../demo/fault-client.js'
import { makeTool, type ToolName, toolErrorCode } from './tools.js'

async function makeClient(config: ClientConfig): Promise<FaultClient> {
  const [tool, kind] = config.mode.split('_') as [ToolName, 'plain' | 'lifespan']
  // The table is never touched by these reads; the tools only need a name.
  const table = 'orm_fault_unused'
  if (kind === 'plain') {
    const api = makeTool(tool, { url: config.url, pool: config.pool }, table)
    return {
      run: (sql) => api.read(sql),
      warm: async () => (await Promise.all(Array.from({ length: config.pool }, () => api.read(WARM_SQL)))).map((rows) => Number(rows[0]?.id)),
      close: () => api.close(),
    }
  }
  const lifespan = createLifespan({ databases: { default: `${config.url}${config.url.includes('?') ? '&' : '?'}connectionLimit=${config.pool}` }, shutdownTimeoutMs: 1_000 })
  await lifespan.startup()
  const api = makeTool(tool, { lifespan }, table)
  return {
    run: (sql) => api.read(sql),
    warm: async () => (await Promise.all(Array.from({ length: config.pool }, () => api.read(WARM_SQL)))).map((rows) => Number(rows[0]?.id)),
    close: async () => {
      await api.close()
      await lifespan.shutdown()
    },
  }
}

if (process.argv[1]?.endsWith('orm-fault-client.js')) clientMain(async (config) => runFaultClient(config, await makeClient(config), toolErrorCode))
