/**
 * Measure 3: recovery after each fault of the demo's harness (demo/scenarios.ts), for plain
 * mysql2, knex 3, Sequelize 6 and mysql-lifespan. The four clients run at once under the same
 * injected fault, each in its own process (recovery-client.ts), with the same pool size, block
 * and probe count as the demo. Destructive faults use a disposable MariaDB, network faults the
 * fault proxy in front of MYSQL_URL; the harness, servers and proxy are the project's own.
 */
import { fileURLToPath } from 'node:url'
import { BLOCK_MS, type FaultEnv, hangMs, POOL, QUERIES, runScenario, SCENARIOS, TITLES, type ScenarioName } from '../demo/scenarios.js'
import type { ClientResult } from '../demo/fault-client.js'
import { startDisposableServer } from '../test/support/disposable-server.js'
import { startFaultProxy } from '../test/support/fault-proxy.js'
import { boost } from './lib/quiet.js'
import { fmtInt, median, table } from './lib/stats.js'
import { PEER_SETTINGS, SEQUELIZE_RETRY_MATCH, type RecoveryMode } from './lib/recovery-settings.js'

const CLIENT = fileURLToPath(new URL('./recovery-client.js', import.meta.url))
export const MODES: RecoveryMode[] = ['plain', 'knex', 'sequelize', 'lifespan']
const MODE_TITLES: Record<RecoveryMode, string> = {
  plain: 'plain mysql2 pool',
  knex: 'knex 3 (ping validate, max lifetime)',
  sequelize: 'Sequelize 6 (retry.match, pool.validate)',
  lifespan: 'mysql-lifespan',
}
type Outcome = Record<RecoveryMode, ClientResult>

export interface RecoveryOptions {
  url: string
  rounds: number
  scenarios?: readonly ScenarioName[]
  log: (line: string) => void
}

export async function runRecovery(options: RecoveryOptions): Promise<{ markdown: string; lifespanFailures: number }> {
  const scenarios = options.scenarios ?? SCENARIOS
  const target = new URL(options.url)
  const server = await startDisposableServer()
  boost(server.pid)
  const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 3306) })
  const outcomes = new Map<ScenarioName, Outcome[]>()
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const name of scenarios) {
        const t = Date.now()
        const outcome = await runOne(name, { server, proxy, url: options.url })
        outcomes.set(name, [...(outcomes.get(name) ?? []), outcome])
        const summary = MODES.map((m) => `${m} ${outcome[m].failed + outcome[m].hung}`).join(', ')
        options.log(`  round ${round + 1}/${options.rounds} ${name}: failed+hung ${summary} (${((Date.now() - t) / 1000).toFixed(1)} s)`)
      }
    }
  } finally {
    await proxy.close()
    await server.stop()
  }

  const rows: string[][] = []
  let lifespanFailures = 0
  for (const name of scenarios) {
    const runs = outcomes.get(name) ?? []
    MODES.forEach((mode, i) => {
      const rs = runs.map((o) => o[mode])
      const failed = rs.reduce((n, r) => n + r.failed, 0)
      const hung = rs.reduce((n, r) => n + r.hung, 0)
      if (mode === 'lifespan') lifespanFailures += failed + hung
      const codes: Record<string, number> = {}
      for (const r of rs) for (const [c, n] of Object.entries(r.codes)) codes[c] = (codes[c] ?? 0) + n
      const firsts = rs.map((r) => r.firstSuccessMs).filter((x): x is number => x !== null)
      const lasts = rs.map((r) => r.lastSettledMs).filter((x): x is number => x !== null)
      rows.push([
        i === 0 ? TITLES[name] : '',
        MODE_TITLES[mode],
        `${failed}${Object.keys(codes).length ? ` (${Object.entries(codes).map(([c, n]) => `${n} ${c}`).join(', ')})` : ''}`,
        String(hung),
        `${fmtInt(QUERIES * rs.length)}`,
        firsts.length ? `${fmtInt(median(firsts))} ms` : '-',
        firsts.length ? `${fmtInt(Math.min(...firsts))}–${fmtInt(Math.max(...firsts))}` : '-',
        lasts.length ? `${fmtInt(median(lasts))} ms` : '-',
      ])
    })
  }
  const markdown = [
    table(['fault', 'client', 'failed', 'hung', 'reads', 'first success (median)', 'first success range ms', 'last settled (median)'], rows, 2),
    '',
    `${options.rounds} round(s) of every fault; per round each client has a pool of ${POOL} and fires ${QUERIES} reads at once right after its event loop ` +
      `was blocked across the fault (block: ${Object.entries(BLOCK_MS).map(([k, v]) => `${k} ${v} ms`).join(', ')}). "hung" = not settled after ` +
      `${hangMs('idle') / 1000} s (${hangMs('stall') / 1000} s for the stall). Times are from the end of the block.`,
    '',
    'Peer configuration (like for like with mysql-lifespan: acquire timeout ' +
      `${PEER_SETTINGS.acquireTimeoutMs} ms, validation ping timeout ${PEER_SETTINGS.pingTimeoutMs} ms, max lifetime ${PEER_SETTINGS.maxLifetimeMs} ms):`,
    `- knex: \`pool: { min: 0, max: ${POOL}, validate: ping with a ${PEER_SETTINGS.pingTimeoutMs} ms timeout (awaited by knex on every acquire), maxConnectionLifetimeMillis: ${PEER_SETTINGS.maxLifetimeMs} }\`, ` +
      `\`acquireConnectionTimeout: ${PEER_SETTINGS.acquireTimeoutMs}\`. knex re-runs no statement.`,
    `- Sequelize: \`retry: { max: ${PEER_SETTINGS.retries}, match: [${SEQUELIZE_RETRY_MATCH.map(String).join(', ')}] }\`, ` +
      `\`pool: { max: ${POOL}, min: 0, acquire: ${PEER_SETTINGS.acquireTimeoutMs}, validate: socket flags (sequelize-pool calls validate synchronously, so it cannot ping) }\`. ` +
      'Sequelize retries any matching statement, writes included.',
    '- plain mysql2: `createPool({ connectionLimit: 5 })`, promise API, defaults otherwise.',
    '- mysql-lifespan: defaults, with the acquire and ping timeouts and max age above.',
  ].join('\n')
  return { markdown, lifespanFailures }
}

function runOne(name: ScenarioName, env: FaultEnv): Promise<Outcome> {
  return runScenario(name, env, { modes: MODES, clientScript: CLIENT, onSpawn: boost })
}
