/**
 * The demo's faults (demo/scenarios.ts) through each tool: every tool twice, on its normal set-up
 * (its own mysql2 pool) and on mysql-lifespan, all ten clients under the same injected fault at
 * once. The plain set-ups must fail (the fault was real); the tools on mysql-lifespan must not.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runScenario, type ScenarioName } from '../../demo/scenarios.js'
import type { ClientResult } from '../../demo/fault-client.js'
import { serverBehindProxy } from '../support/server-behind-proxy.js'
import { TOOLS } from './support/tools.js'

// The client runs compiled (npm run build && npm run build:tools), as the demo's does.
const clientScript = fileURLToPath(new URL('../../.build/test/orm/support/orm-fault-client.js', import.meta.url))
const modes = TOOLS.flatMap((tool) => [`${tool}_plain`, `${tool}_lifespan`])

const env = serverBehindProxy()

function failedOrHung(r: ClientResult): number {
  return r.failed + r.hung
}

async function scenario(name: ScenarioName): Promise<Record<string, ClientResult>> {
  const { server, proxy } = env
  const result = (await runScenario(name, { server, proxy, url: server.url }, { modes, clientScript })) as unknown as Record<string, ClientResult>
  // One line per client, for the report.
  console.log(`${name}: ${modes.map((m) => `${m} ${result[m]!.ok}/${result[m]!.failed}/${result[m]!.hung} ${JSON.stringify(result[m]!.codes)}`).join('; ')}`)
  return result
}

describe('the demo\'s faults through the five tools: plain set-ups fail, on mysql-lifespan 0 failed reads', () => {
  it.each(['idle', 'kill', 'restart', 'interaction-timeout', 'stall'] as const)('%s', async (name) => {
    const r = await scenario(name)
    for (const tool of TOOLS) expect.soft(r[`${tool}_lifespan`], `${tool} on mysql-lifespan`).toMatchObject({ ok: 20, failed: 0, hung: 0 })
    // The fault was real: the tools on their own pools lost reads. Summed over the five: on a loaded
    // machine one client's timing can now and then miss a fault (seen once: a plain pool read before
    // the server had closed its idle sessions), which says nothing about the tool on mysql-lifespan.
    expect(TOOLS.reduce((n, tool) => n + failedOrHung(r[`${tool}_plain`]!), 0)).toBeGreaterThanOrEqual(TOOLS.length)
  }, 90_000)
})
