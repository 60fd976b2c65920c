/**
 * `npm run demo`: the seed story, measured. A plain mysql2 pool and mysql-lifespan, side by
 * side, each with a pool of 5 firing 20 reads right after a fault:
 *   - idle past wait_timeout while the event loop was busy,
 *   - KILL of every pooled connection,
 *   - a server restart while the event loop was busy,
 *   - a stalled network path (a 2 s blackhole: stalled sockets stay dead, as with a dropped NAT entry),
 *   - MySQL 8's 4031 "disconnected because of inactivity" as the reply to in-flight reads.
 * Faults that change the server run on a disposable MariaDB this script starts; the others use
 * MYSQL_URL (default mysql://root@127.0.0.1:3306/test) and kill only the demo's own connections.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { startDisposableServer } from '../test/support/disposable-server.js'
import { startFaultProxy } from '../test/support/fault-proxy.js'
import { hangMs, POOL, QUERIES, runScenario, SCENARIOS, TITLES, type ScenarioResult } from './scenarios.js'
import type { ClientResult } from './fault-client.js'
import { renderTimeline } from './timeline-svg.js'

const url = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
/** Where the recovery timeline goes; the README embeds the committed one. */
const svgPath = resolve(process.env.DEMO_SVG ?? 'docs/recovery-timeline.svg')

function cell(r: ClientResult): string {
  const failures = r.failed === 0 ? '0' : `${r.failed} (${Object.entries(r.codes).map(([c, n]) => `${n} ${c}`).join(', ')})`
  return [failures, String(r.hung), r.firstSuccessMs === null ? '-' : `${r.firstSuccessMs} ms`].join(' | ')
}

/** "5 failed, 0 hung": failures and hangs apart, as the table shows them. */
function outcome(r: ClientResult): string {
  return `${r.failed} failed, ${r.hung} hung`
}

async function writeTimeline(results: ScenarioResult[]): Promise<void> {
  const svg = renderTimeline(
    results.map((r) => ({
      title: TITLES[r.name],
      hangMs: hangMs(r.name),
      clients: [{ label: 'plain mysql2', result: r.plain }, { label: 'mysql-lifespan', result: r.lifespan }],
    })),
    `Each client: a pool of ${POOL}, ${QUERIES} reads fired at once right after the fault (npm run demo).`,
  )
  await mkdir(dirname(svgPath), { recursive: true })
  await writeFile(svgPath, svg)
}

function table(results: ScenarioResult[]): string {
  const rows = [
    '| fault | client | failed of 20 | hung | first success |',
    '| --- | --- | --- | --- | --- |',
  ]
  for (const r of results) {
    rows.push(`| ${TITLES[r.name]} | plain mysql2 | ${cell(r.plain)} |`)
    rows.push(`| | mysql-lifespan | ${cell(r.lifespan)} |`)
  }
  return rows.join('\n')
}

async function main(): Promise<void> {
  const started = Date.now()
  const target = new URL(url)
  process.stdout.write(`mysql-lifespan demo: plain mysql2 pool vs mysql-lifespan, pool of 5, 20 reads after each fault\n`)
  process.stdout.write(`starting a disposable MariaDB for the destructive faults; MYSQL_URL=${target.host} for the others\n\n`)
  const server = await startDisposableServer()
  const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 3306) })
  const results: ScenarioResult[] = []
  try {
    for (const name of SCENARIOS) {
      process.stdout.write(`- ${TITLES[name]} ... `)
      const t = Date.now()
      const result = await runScenario(name, { server, url, proxy })
      results.push(result)
      process.stdout.write(`plain ${outcome(result.plain)}, lifespan ${outcome(result.lifespan)} (${((Date.now() - t) / 1000).toFixed(1)} s)\n`)
    }
  } finally {
    await proxy.close()
    await server.stop()
  }
  process.stdout.write(`\n${table(results)}\n\n`)
  await writeTimeline(results)
  process.stdout.write(`recovery timeline: ${svgPath}\n`)
  process.stdout.write('"hung" = not settled after 8 s (12 s for the stall). mysql-lifespan settles a stalled call within pingTimeoutMs + acquireTimeoutMs.\n')
  process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  const lifespanFailed = results.some((r) => r.lifespan.failed + r.lifespan.hung > 0)
  process.exitCode = lifespanFailed ? 1 : 0
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error)?.stack ?? String(err)}\n`)
  process.exitCode = 1
})
