/**
 * Measure 3: recovery after each fault of the demo's harness (demo/scenarios.ts), for plain
 * mysql2, knex 3, Sequelize 6 and mysql-lifespan. The four clients run at once under the same
 * injected fault, each in its own process (recovery-client.ts), with the same pool size, block
 * and probe count as the demo. Destructive faults use a disposable MariaDB, network faults the
 * fault proxy in front of MYSQL_URL; the harness, servers and proxy are the project's own.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import mysql from 'mysql2/promise'
import { SCENARIOS, TITLES, throughProxy, type ScenarioName } from '../demo/scenarios.js'
import { startDisposableServer } from '../test/support/disposable-server.js'
import { startFaultProxy } from '../test/support/fault-proxy.js'
import { boost } from './lib/quiet.js'
import { fmtInt, median, table } from './lib/stats.js'
import { PEER_SETTINGS, SEQUELIZE_RETRY_MATCH, type RecoveryClientConfig, type RecoveryClientResult, type RecoveryMode } from './lib/recovery-settings.js'

const CLIENT = fileURLToPath(new URL('./recovery-client.js', import.meta.url))
export const MODES: RecoveryMode[] = ['plain', 'knex', 'sequelize', 'lifespan']
const MODE_TITLES: Record<RecoveryMode, string> = {
  plain: 'plain mysql2 pool',
  knex: 'knex 3 (ping validate, max lifetime)',
  sequelize: 'Sequelize 6 (retry.match, pool.validate)',
  lifespan: 'mysql-lifespan',
}
// The demo's parameters (demo/scenarios.ts): pool of 5, 20 reads, per-fault block and hang limit.
const POOL = 5
const QUERIES = 20
const STALL_MS = 2_000
const BLOCK_MS: Record<ScenarioName, number> = { idle: 3_500, kill: 500, restart: 4_000, stall: 1_000, 'interaction-timeout': 300 }
const HANG_MS = (name: ScenarioName): number => (name === 'stall' ? 12_000 : 8_000)

interface Running {
  warm: Promise<number[]>
  /** Tells the client to start its block. */
  go: () => void
  result: Promise<RecoveryClientResult>
}

function startClient(config: RecoveryClientConfig): Running {
  const child = spawn(process.execPath, [CLIENT, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] })
  boost(child.pid)
  child.stdin.on('error', () => {})
  let buffer = ''
  let stderr = ''
  let onWarm!: (ids: number[]) => void
  let onResult!: (r: RecoveryClientResult) => void
  let fail!: (e: Error) => void
  const warm = new Promise<number[]>((resolve, reject) => {
    onWarm = resolve
    fail = reject
  })
  const result = new Promise<RecoveryClientResult>((resolve, reject) => {
    onResult = resolve
    const failWarm = fail
    fail = (e) => {
      failWarm(e)
      reject(e)
    }
  })
  warm.catch(() => {})
  result.catch(() => {})
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString()
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      if (!line.startsWith('{')) continue
      const event = JSON.parse(line) as { event: string; ids?: number[]; message?: string }
      if (event.event === 'warm') onWarm(event.ids ?? [])
      else if (event.event === 'result') onResult(event as unknown as RecoveryClientResult)
      else if (event.event === 'error') fail(new Error(`${config.mode} client failed: ${event.message}`))
    }
  })
  child.on('exit', (code) => fail(new Error(`${config.mode} client exited (${code}) before reporting: ${stderr.slice(-800)}`)))
  return { warm, result, go: () => child.stdin.write('go\n') }
}

async function admin(url: string, statements: string[]): Promise<void> {
  const conn = await mysql.createConnection({ uri: url })
  try {
    await Promise.all(statements.map((s) => conn.query(s).catch(() => {})))
  } finally {
    await conn.end()
  }
}

type Outcome = Record<RecoveryMode, RecoveryClientResult>

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
      `${HANG_MS('idle') / 1000} s (${HANG_MS('stall') / 1000} s for the stall). Times are from the end of the block.`,
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

async function runOne(
  name: ScenarioName,
  env: { server: Awaited<ReturnType<typeof startDisposableServer>>; proxy: Awaited<ReturnType<typeof startFaultProxy>>; url: string },
): Promise<Outcome> {
  const { server, proxy } = env
  const onServer = name === 'idle' || name === 'restart'
  const viaProxy = name === 'stall' || name === 'interaction-timeout'
  const url = onServer ? server.url : viaProxy ? throughProxy(env.url, proxy) : env.url
  if (name === 'idle') await server.query('SET GLOBAL wait_timeout = 2')
  try {
    const clients = Object.fromEntries(
      MODES.map((mode) => [
        mode,
        startClient({ mode, url, pool: POOL, queries: QUERIES, blockMs: BLOCK_MS[name], hangMs: HANG_MS(name), sql: `SELECT 1 AS probe_${mode}` }),
      ]),
    ) as Record<RecoveryMode, Running>
    const ids = await Promise.all(MODES.map((m) => clients[m].warm))
    for (const m of MODES) clients[m].go()
    switch (name) {
      case 'idle':
        break // the server resets the sessions by itself after 2 s
      case 'kill':
        await admin(env.url, ids.flat().map((id) => `KILL CONNECTION ${id}`))
        break
      case 'restart':
        await server.restart()
        break
      case 'stall':
        proxy.stall()
        setTimeout(() => proxy.resume(), STALL_MS)
        break
      case 'interaction-timeout':
        for (let i = 0; i < POOL; i++) {
          for (const mode of MODES) void proxy.injectInteractionTimeout((sql) => sql.includes(`probe_${mode}`)).catch(() => {})
        }
        break
    }
    const results = await Promise.all(MODES.map((m) => clients[m].result))
    return Object.fromEntries(MODES.map((m, i) => [m, results[i]])) as Outcome
  } finally {
    if (name === 'idle') await server.query('SET GLOBAL wait_timeout = 28800')
    if (name === 'stall') proxy.resume()
  }
}
