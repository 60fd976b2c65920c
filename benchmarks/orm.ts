/**
 * Measure 6: the five ORMs and query builders on mysql-lifespan (`lifespan.pool()` / `driver()`)
 * against the same tool on its own mysql2 pool. Overhead: reads by id through the tool's query API
 * at concurrency 16, pool of 10, the two variants alternating in fresh processes each round, then
 * paired in one process (orm-paired-worker.ts), with a control pair of two plain instances and two
 * sensitivity pairs (the second plain instance spending 0.5 or 2 µs of CPU per checkout), and a
 * scoped pair per tool (three reads per `lifespan.scope()` against three per AsyncLocalStorage
 * context of the tool on its own pool).
 * Recovery: the demo's five faults with every tool twice (own pool, mysql-lifespan) under the same
 * injected fault, through the ORM fault client of the tests (test/orm/support/orm-fault-client.ts).
 */
import { fileURLToPath } from 'node:url'
import mysql from 'mysql2/promise'
import { type FaultEnv, QUERIES, runScenario, SCENARIOS, TITLES } from '../demo/scenarios.js'
import type { ClientResult } from '../demo/fault-client.js'
import { startDisposableServer } from '../test/support/disposable-server.js'
import { startFaultProxy } from '../test/support/fault-proxy.js'
import { TOOLS } from '../test/orm/support/tools.js'
import { pinnableCpu, runChild } from './lib/child.js'
import { boost } from './lib/quiet.js'
import { fmtInt, fmtRatio, median, table } from './lib/stats.js'

const WORKER = fileURLToPath(new URL('./orm-worker.js', import.meta.url))
const PAIRED_WORKER = fileURLToPath(new URL('./orm-paired-worker.js', import.meta.url))
// Built by `npm run build:tools` (which `npm run bench` runs), as the tests use it.
const FAULT_CLIENT = fileURLToPath(new URL('../../test/orm/support/orm-fault-client.js', import.meta.url))
const TABLE = 'bench_orm_rows'
const PAIRED_WARMUP_MS = 1_500
const PAIRED_WINDOW_MS = 800
const PAIRED_WINDOWS = 10
const ROWS = 1_000
/** CPU the sensitivity rows' pool wrapper spends per checkout (lib/spin-pool.ts), in nanoseconds. */
const SPIN_NS = { spin500: 500, spin2000: 2_000 } as const

/** What a paired row measures, from its name: the tool, the kind of pair, and how the run names its second side. */
interface Pair {
  tool: string
  /** Two plain instances (the control and the sensitivity rows). */
  control: boolean
  /** The CPU the second instance spends per checkout (the sensitivity rows), in nanoseconds. */
  spinNs: number | undefined
  /** Three reads per lifespan.scope() against three per AsyncLocalStorage context (`<tool>/scoped`). */
  scoped: boolean
  /** The second side, in the progress log. */
  second: string
  /** The row's name in the results table. */
  label: string
}

/** The {@link Pair} a paired row's name stands for. */
function pairOf(name: string): Pair {
  const spinNs = name in SPIN_NS ? SPIN_NS[name as keyof typeof SPIN_NS] : undefined
  if (spinNs !== undefined) {
    return { tool: 'kysely', control: true, spinNs, scoped: false, second: `plain + ${spinNs} ns per checkout`, label: `sensitivity: kysely on its own pool, and behind a wrapper spending ${spinNs} ns of CPU per getConnection` }
  }
  if (name === 'control') return { tool: 'kysely', control: true, spinNs, scoped: false, second: 'second plain', label: 'control: kysely on its own pool, twice' }
  if (name.endsWith('/scoped')) {
    const tool = name.slice(0, -'/scoped'.length)
    return { tool, control: false, spinNs, scoped: true, second: 'lifespan, 3 per scope (plain: 3 per AsyncLocalStorage context)', label: `${tool}, 3 reads per scope (own pool: 3 reads per AsyncLocalStorage context)` }
  }
  return { tool: name, control: false, spinNs, scoped: false, second: 'lifespan', label: name }
}

export interface OrmOptions {
  url: string
  rounds: number
  warmupMs: number
  windowMs: number
  concurrency: number
  log: (line: string) => void
}

export async function runOrm(options: OrmOptions): Promise<{ markdown: string; ratios: Record<string, number>; lifespanFailures: number }> {
  const admin = await mysql.createConnection({ uri: options.url })
  await admin.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB`)
  await admin.query(`TRUNCATE ${TABLE}`)
  await admin.query(`INSERT INTO ${TABLE} (v) VALUES ${Array.from({ length: ROWS }, (_, i) => `('row ${i + 1}')`).join(',')}`)
  await admin.end()

  // Every measuring process runs on one core (see pinnableCpu).
  const cpu = pinnableCpu()
  const pinned = cpu === undefined ? 'Not pinned to a core (no `taskset` here).' : `Each measuring process ran on CPU ${cpu} only (\`taskset -c ${cpu}\`, all its threads); the server is not pinned.`
  const ops = new Map<string, number[]>()
  for (let round = 0; round < options.rounds; round++) {
    for (const tool of TOOLS) {
      // Alternate which variant goes first: a round's later process may find a warmer server.
      // Knex also on a plain mysql2 pool through connectionPool: its own tarn pool takes another path inside Knex.
      const variants = tool === 'knex' ? (['plain', 'mysql2Pool', 'lifespan', 'scoped'] as const) : (['plain', 'lifespan', 'scoped'] as const)
      const order = round % 2 === 0 ? variants : [...variants].reverse()
      for (const variant of order) {
        const config = { tool, variant, url: options.url, table: TABLE, rows: ROWS, pool: 10, concurrency: options.concurrency, warmupMs: options.warmupMs, windowMs: options.windowMs }
        const [line] = await runChild(WORKER, config, { timeoutMs: 60_000, cpu })
        const key = `${tool}/${variant}`
        ops.set(key, [...(ops.get(key) ?? []), Number(line?.opsPerSec)])
      }
      const last = (v: string): string => fmtInt(ops.get(`${tool}/${v}`)!.at(-1)!)
      const pool = tool === 'knex' ? `, on a mysql2 pool ${last('mysql2Pool')}` : ''
      options.log(`  round ${round + 1}/${options.rounds} ${tool}: plain ${last('plain')}${pool}, lifespan ${last('lifespan')}, 3 per scope ${last('scoped')} reads/s`)
    }
  }
  const ratios: Record<string, number> = {}
  const overheadRows = TOOLS.map((tool) => {
    const plain = median(ops.get(`${tool}/plain`)!)
    const lifespan = median(ops.get(`${tool}/lifespan`)!)
    const scoped = median(ops.get(`${tool}/scoped`)!)
    ratios[tool] = lifespan / plain
    return [tool, fmtInt(plain), fmtInt(lifespan), fmtRatio(lifespan / plain), fmtInt(scoped), fmtRatio(scoped / plain)]
  })
  const knexPool = ops.get('knex/mysql2Pool')
  if (knexPool) {
    const base = median(knexPool)
    const lifespan = median(ops.get('knex/lifespan')!)
    ratios['knex against Knex on a mysql2 pool'] = lifespan / base
    overheadRows.push(['knex on a mysql2 pool (`connectionPool`)', fmtInt(base), fmtInt(lifespan), fmtRatio(lifespan / base), fmtInt(median(ops.get('knex/scoped')!)), fmtRatio(median(ops.get('knex/scoped')!) / base)])
  }

  // Paired: both sides in one process, in alternating short windows (orm-paired-worker.ts), so
  // they share the machine's state window by window; `control` pairs two plain instances, and the
  // sensitivity rows the same with a known cost per checkout on the second one.
  // `<tool>/scoped`: three reads per lifespan.scope() against three per AsyncLocalStorage context of the plain tool.
  const paired = new Map<string, Array<{ ops: number; cpu: number }>>()
  const pairedTools = [...TOOLS, 'control', 'spin500', 'spin2000', ...TOOLS.map((tool) => `${tool}/scoped` as const)] as const
  for (let round = 0; round < options.rounds; round++) {
    for (const name of pairedTools) {
      const pair = pairOf(name)
      const config = {
        tool: pair.tool,
        control: pair.control,
        spinNs: pair.spinNs,
        scoped: pair.scoped,
        first: round % 2 === 0 ? 'plain' : 'lifespan',
        url: options.url,
        table: TABLE,
        rows: ROWS,
        pool: 10,
        concurrency: options.concurrency,
        warmupMs: PAIRED_WARMUP_MS,
        windowMs: PAIRED_WINDOW_MS,
        windows: PAIRED_WINDOWS,
      }
      const [line] = await runChild(PAIRED_WORKER, config, { timeoutMs: 120_000, cpu })
      const side = (key: 'plain' | 'lifespan'): { opsPerSec: number; cpuUsPerRead: number } => (line?.[key] ?? { opsPerSec: Number.NaN, cpuUsPerRead: Number.NaN }) as never
      const plain = side('plain')
      const lifespan = side('lifespan')
      paired.set(name, [...(paired.get(name) ?? []), { ops: lifespan.opsPerSec / plain.opsPerSec, cpu: plain.cpuUsPerRead / lifespan.cpuUsPerRead }])
      options.log(`  round ${round + 1}/${options.rounds} ${name} paired: CPU per read ${plain.cpuUsPerRead.toFixed(1)} µs plain, ${lifespan.cpuUsPerRead.toFixed(1)} µs ${pair.second}`)
    }
  }
  const pairedRows = pairedTools.map((name) => {
    const r = paired.get(name)!
    const { label } = pairOf(name)
    return [label, fmtRatio(median(r.map((x) => x.ops))), fmtRatio(median(r.map((x) => x.cpu))), r.map((x) => fmtRatio(x.ops)).join(', ')]
  })
  for (const tool of TOOLS) ratios[`${tool} (paired)`] = median(paired.get(tool)!.map((x) => x.ops))
  for (const tool of TOOLS) ratios[`${tool} (paired, 3 reads per scope)`] = median(paired.get(`${tool}/scoped`)!.map((x) => x.ops))

  const target = new URL(options.url)
  const server = await startDisposableServer()
  boost(server.pid)
  const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 3306) })
  const env: FaultEnv = { server, proxy, url: options.url }
  const modes = TOOLS.flatMap((tool) => [`${tool}_plain`, `${tool}_lifespan`])
  const outcomes = new Map<string, Record<string, ClientResult>>()
  try {
    for (const name of SCENARIOS) {
      const outcome = (await runScenario(name, env, { modes, clientScript: FAULT_CLIENT, onSpawn: boost })) as unknown as Record<string, ClientResult>
      outcomes.set(name, outcome)
      options.log(`  ${name}: failed+hung ${modes.map((m) => `${m} ${outcome[m]!.failed + outcome[m]!.hung}`).join(', ')}`)
    }
  } finally {
    await proxy.close()
    await server.stop()
  }
  let lifespanFailures = 0
  const cell = (r: ClientResult): string => `${r.failed} / ${r.hung}`
  const recoveryRows = TOOLS.map((tool) => {
    const row: string[] = [tool]
    for (const name of SCENARIOS) {
      const o = outcomes.get(name)!
      lifespanFailures += o[`${tool}_lifespan`]!.failed + o[`${tool}_lifespan`]!.hung
      row.push(cell(o[`${tool}_plain`]!), cell(o[`${tool}_lifespan`]!))
    }
    return row
  })
  const markdown = [
    table(['tool', 'own mysql2 pool, reads/s', 'on mysql-lifespan, reads/s', 'ratio', 'mysql-lifespan, 3 reads per scope, reads/s', 'ratio'], overheadRows),
    '',
    `Reads by id through each tool's query API, concurrency ${options.concurrency}, pool of 10, ${ROWS} rows; median of ${options.rounds} round(s) of ` +
      `${options.windowMs} ms windows after ${options.warmupMs} ms of warm-up, each variant in a fresh process, the variants alternating. ` +
      'On mysql-lifespan every read runs outside any scope, so each gets an implicit scope of its own (the facade\'s getConnection, validated on entry); ' +
      'in the last columns three reads share a scope, and so its connection, as a request\'s queries do behind an adapter. ' +
      'Knex\'s own pool is tarn over connections it opens; its last row puts Knex on a plain mysql2 pool through `connectionPool` instead, the path the facade takes inside Knex. ' +
      pinned,
    '',
    `Paired: the same reads with both sides in one process, in ${PAIRED_WINDOWS} alternating windows of ${PAIRED_WINDOW_MS} ms each (after ${PAIRED_WARMUP_MS} ms of warm-up per side), ` +
      `${options.rounds} process(es) per tool, which side is made first alternating; ratios are medians over the processes. ` +
      'Windows side by side see the same machine, which fresh processes minutes apart do not. CPU ratio: plain CPU time per read over mysql-lifespan\'s. ' +
      'The control row puts a second plain instance in the place of mysql-lifespan: how far the measure itself strays from 1. ' +
      `The sensitivity rows put that second instance behind a pass-through pool wrapper that spends ${SPIN_NS.spin500} or ${SPIN_NS.spin2000} ns of CPU (a loop of arithmetic) on each getConnection and does nothing else: ` +
      'what a known, small cost per checkout does to this measure on this machine. ' +
      'The last rows read three rows per unit on both sides: in a `lifespan.scope()` on mysql-lifespan, and in an AsyncLocalStorage context of the benchmark\'s own around the tool on its own pool ' +
      '(what an APM, OpenTelemetry or a framework\'s request context opens). Both sides then pay Node 20\'s promise hooks, which the fresh-process column "3 reads per scope" charges to mysql-lifespan alone.',
    '',
    table(['tool', 'reads/s ratio', 'CPU per read ratio', 'per process (reads/s)'], pairedRows),
    '',
    table(['tool', ...SCENARIOS.flatMap((n) => [`${TITLES[n]}: own pool`, 'on mysql-lifespan'])], recoveryRows),
    '',
    `Failed / hung reads of ${QUERIES} per client, one round of each of the demo's faults, all ten clients under the same fault at once.`,
  ].join('\n')
  return { markdown, ratios, lifespanFailures }
}
