/**
 * `npm run bench` (repository root): every measure of issue 4, printed as tables and written to
 * benchmarks/RESULTS.md.
 *
 *   npm run bench                      full run (about 35 minutes on 2 cores, 23 of them the ORM measure)
 *   npm run bench -- --quick           shorter windows, fewer rounds; writes RESULTS.quick.md
 *   npm run bench -- --only=hot,scale  a subset: hot, fastify, recovery, scale, validation, orm (and profile, scale-out, instructions: not run by default);
 *                                      writes RESULTS.<measures>.md (RESULTS.orm.md for --only=orm), never over the full RESULTS.md
 *   npm run bench -- --only=hot,profile --lib=path/to/index.js   hot path (and profile) of a patched build beside dist/
 *   MYSQL_URL=mysql://user:pw@host:3306/db npm run bench
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { BENCH_DIR } from './lib/deps.js'
import { startDisposableServer, type DisposableServer } from '../test/support/disposable-server.js'
import { describeEnvironment, MYSQL_URL, redact } from './lib/env.js'
import { BENCH_NICE, boost } from './lib/quiet.js'
import { runFastify } from './fastify.js'
import { runHotPath } from './hot-path.js'
import { runOrm } from './orm.js'
import { callgrindAvailable, runOrmInstructions } from './orm-instructions.js'
import { runProfile } from './profile.js'
import { runRecovery } from './recovery.js'
import { runScale } from './scale.js'
import { runScaleOut } from './scale-out.js'
import { runValidation } from './validation.js'

const MEASURES = ['hot', 'fastify', 'recovery', 'scale', 'validation', 'orm', 'instructions', 'scale-out', 'profile'] as const
/** Run by default; `profile`, `instructions` (valgrind, about 14 minutes) and `scale-out` (it starts replication sets) only on request. */
const DEFAULT_MEASURES: Measure[] = ['hot', 'fastify', 'recovery', 'scale', 'validation', 'orm']
type Measure = (typeof MEASURES)[number]

function parseArgs(argv: string[]): { quick: boolean; only: Set<Measure>; lib: string | undefined; out: string | undefined } {
  let quick = false
  let only = new Set<Measure>(DEFAULT_MEASURES)
  let lib: string | undefined
  let out: string | undefined
  for (const arg of argv) {
    if (arg === '--quick') quick = true
    else if (arg.startsWith('--only=')) {
      const names = arg.slice(7).split(',').filter(Boolean)
      for (const n of names) if (!(MEASURES as readonly string[]).includes(n)) throw new Error(`unknown measure "${n}" (known: ${MEASURES.join(', ')})`)
      only = new Set(names as Measure[])
    } else if (arg.startsWith('--lib=')) lib = fromCaller(arg.slice(6))
    else if (arg.startsWith('--out=')) out = fromCaller(arg.slice(6))
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`usage: npm run bench -- [--quick] [--only=${MEASURES.join(',')}] [--lib=patched/index.js] [--out=file.md]\n`)
      process.exit(0)
    } else throw new Error(`unknown argument ${arg}`)
  }
  return { quick, only, lib, out }
}

const log = (line: string): void => void process.stdout.write(`${line}\n`)

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const started = Date.now()
  // Unless MYSQL_URL names a server, the measures get a MariaDB of their own (a disposable one,
  // the project's test tooling): no other client's queries on it while it is measured.
  let own: DisposableServer | undefined
  if (!process.env.MYSQL_URL) {
    try {
      own = await startDisposableServer({ maxConnections: 500 })
    } catch (err) {
      log(`no disposable MariaDB (${(err as Error).message.split('\n')[0]}); using ${redact(MYSQL_URL)}`)
    }
  }
  const url = own?.url ?? MYSQL_URL
  const boosted = boost(process.pid) && (own ? boost(own.pid) : true)
  try {
    await measures(args, url, own !== undefined, boosted, started)
  } finally {
    await own?.stop()
  }
}

async function measures(args: ReturnType<typeof parseArgs>, url: string, ownServer: boolean, boosted: boolean, started: number): Promise<void> {
  const env = await describeEnvironment(url)
  const q = args.quick
  const settings = {
    hot: q ? { rounds: 4, warmupMs: 300, windowMs: 300 } : { rounds: 16, warmupMs: 1_000, windowMs: 500 },
    fastify: q ? { rounds: 1, warmupS: 1, durationS: 4 } : { rounds: 3, warmupS: 2, durationS: 8 },
    recovery: { rounds: q ? 1 : 2 },
    scale: q ? { sequential: 100_000, concurrent: 20_000 } : { sequential: 1_000_000, concurrent: 100_000 },
    validation: q ? { idleSamples: 8, durations: { 1: 4_000, 100: 3_000, 10_000: 2_000 } } : { idleSamples: 20, durations: { 1: 10_000, 100: 5_000, 10_000: 3_000 } },
  }
  log(`mysql-lifespan benchmarks${q ? ' (--quick)' : ''}: ${env.cpu}, ${env.cores} cores, Node ${env.node}, ${env.server} at ${redact(url)}`)
  const sections: string[] = []
  const verdicts: string[] = []
  const section = (title: string, body: string): void => {
    sections.push(`## ${title}\n\n${body}\n`)
    log(`\n## ${title}\n\n${body}\n`)
  }

  if (args.only.has('hot')) {
    log('\n[1/5] hot-path overhead')
    const r = await runHotPath({ url, ...settings.hot, ...(args.lib ? { lib: args.lib } : {}), log })
    section(`1. Hot-path overhead: \`SELECT 1\`, pool of 10${args.lib ? ` (patched library: ${args.lib})` : ''}`, r.markdown)
    verdicts.push(
      `Hot path: mysql-lifespan \`scope()\` at ${Object.entries(r.ratios).map(([c, x]) => `${x.scope.toFixed(2)}x (c=${c})`).join(', ')} of plain checkout + query; ` +
        `targets (>= 0.90x at c=1, >= 0.95x at c=16/64) ${r.targetsMet ? 'met' : '**not met**'}.`,
    )
  }
  if (args.only.has('fastify')) {
    log('\n[2/5] Fastify request (1 read + 1 write)')
    const r = await runFastify({ url, ...settings.fastify, connections: 32, ...(args.lib ? { lib: args.lib } : {}), log })
    section('2. A realistic request: Fastify, 1 read + 1 write', r.markdown)
    verdicts.push(`Fastify: adapter at ${r.rpsRatio.toFixed(2)}x the requests/s of plain mysql2, p99 at ${r.p99Ratio.toFixed(2)}x.`)
  }
  if (args.only.has('recovery')) {
    log('\n[3/5] recovery after faults')
    const r = await runRecovery({ url, rounds: settings.recovery.rounds, log })
    section('3. Recovery after each fault', r.markdown)
    verdicts.push(`Recovery: mysql-lifespan failed or hung on ${r.lifespanFailures} reads in all faults and rounds.`)
  }
  if (args.only.has('scale')) {
    log('\n[4/5] scale')
    const r = await runScale({ url, ...settings.scale, log })
    section('4. Scale: many scopes, heap after GC', r.markdown)
    verdicts.push(`Scale: ${r.errors} errors; heap growth under load ${r.heapGrowthMiB.toFixed(2)} MiB.`)
  }
  if (args.only.has('validation')) {
    log('\n[5/5] cost of validation')
    const d = settings.validation.durations as Record<number, number>
    const r = await runValidation({ url, idleSamples: settings.validation.idleSamples, rates: [1, 100, 10_000], rateDurationMs: (rate) => d[rate] ?? 3_000, log })
    section('5. Cost of validation on scope entry', r.markdown)
    verdicts.push(`Validation: a ping after idle adds ${r.pingCostMs.toFixed(3)} ms to that scope.`)
  }

  if (args.only.has('orm')) {
    log('\n[6] ORMs and query builders')
    const r = await runOrm({ url, rounds: q ? 2 : 4, warmupMs: q ? 500 : 1_000, windowMs: q ? 1_500 : 3_000, concurrency: 16, log })
    section('6. ORMs and query builders: each tool on its own mysql2 pool and on mysql-lifespan', r.markdown)
    verdicts.push(
      `ORMs: reads by id at concurrency 16 on mysql-lifespan at ${Object.entries(r.ratios).map(([t, x]) => `${x.toFixed(2)}x (${t})`).join(', ')} of the same tool on its own pool (target >= 0.97x); ` +
        `${r.lifespanFailures} failed or hung reads through the tools on mysql-lifespan in the five faults.`,
    )
  }
  if (args.only.has('instructions')) {
    log('\n[instructions] ORM reads counted in machine instructions (valgrind)')
    if (!callgrindAvailable()) throw new Error('the instructions measure needs valgrind (callgrind and callgrind_control): apt-get install valgrind')
    const r = await runOrmInstructions({ url, concurrency: 16, readsScale: q ? 0.2 : 1, log })
    section('Instructions: what a read through each tool costs the client, counted', r.markdown)
    verdicts.push(`Instructions per read, own pool over mysql-lifespan: ${Object.entries(r.ratios).map(([t, x]) => `${x.toFixed(3)} (${t})`).join(', ')}.`)
  }
  if (args.only.has('scale-out')) {
    log('\n[scale-out] failover and replica routing (replication sets on loopback)')
    const r = await runScaleOut({ rounds: q ? 1 : 3, overhead: q ? { rounds: 4, windowMs: 500, concurrency: 8 } : { rounds: 10, windowMs: 1_000, concurrency: 8 }, log })
    section('Scale-out: primary failover and replica routing', r.markdown)
    verdicts.push(
      `Scale-out: mysql-lifespan lost or doubled ${r.lifespanLostOrDoubled} acknowledged writes and failed ${r.lifespanFailedReads} reads across failovers; ` +
        `replica routing at ${r.routingRatio.toFixed(2)}x a plain pool on the replica (target >= 0.95x ${r.routingRatio >= 0.95 ? 'met' : '**not met**'}).`,
    )
  }
  if (args.only.has('profile')) {
    log('\n[profile] CPU profile of the hot path')
    section('Profile: where the hot path spends its time', await runProfile({ url, ...(args.lib ? { lib: args.lib } : {}), log }))
  }

  const minutes = ((Date.now() - started) / 60_000).toFixed(1)
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
  const doc = [
    `# mysql-lifespan benchmarks${q ? ' (quick run)' : ''}`,
    '',
    `Generated by \`${command}\` on ${env.date} in ${minutes} min. Every figure below comes from that one run.`,
    '',
    '| | |',
    '| --- | --- |',
    `| machine | ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB, ${env.os} |`,
    `| Node | ${env.node} |`,
    `| server | ${env.server}, ${ownServer ? 'a disposable MariaDB started for this run (test/support/disposable-server.ts: 32 MiB buffer pool, defaults otherwise), used by nothing else' : `at ${env.url}`}; recovery faults: a second disposable MariaDB and the fault proxy |`,
    `| priority | ${boosted ? `the benchmark's processes${ownServer ? ' and its MariaDB' : ''} run at nice ${BENCH_NICE}, ahead of other work on the machine` : 'default (could not raise priority)'} |`,
    `| library | mysql-lifespan ${env.versions['mysql-lifespan']} at commit ${env.commit} |`,
    `| packages | ${Object.entries(env.versions).filter(([k]) => k !== 'mysql-lifespan').map(([k, v]) => `${k} ${v}`).join(', ')} |`,
    '',
    '## Summary',
    '',
    ...verdicts.map((v) => `- ${v}`),
    '',
    '## How to run',
    '',
    '```sh',
    'npm run bench                          # builds the library and tools, installs benchmarks/ deps if missing, runs everything',
    'npm run bench -- --quick               # shorter windows and fewer rounds (writes benchmarks/RESULTS.quick.md)',
    'npm run bench -- --only=hot,recovery   # a subset: hot, fastify, recovery, scale, validation, orm; `profile` (CPU profile of the hot path) and `instructions` (ORM reads counted by valgrind) on request; writes benchmarks/RESULTS.hot-recovery.md',
    'npm run bench -- --only=hot,profile --lib=$PWD/.build/patched/dist/index.js   # a patched build measured beside dist/',
    'MYSQL_URL=mysql://user:pw@host:3306/db npm run bench',
    '```',
    '',
    'The machine is shared (2 cores: the Node process under test, MariaDB, the load generator and anything else running). ' +
      'Variants alternate within each round and every figure is a median over rounds; the CPU busy share before each trial is recorded with each table.',
    '',
    ...sections,
  ].join('\n')
  const out = args.out ?? `${BENCH_DIR}${resultsName(args.only, q)}`
  writeFileSync(out, `${doc.trimEnd()}\n`)
  log(`\nwrote ${out} (${minutes} min)`)
}

/**
 * Where the results go unless `--out` says: RESULTS.md for the default measures, RESULTS.quick.md
 * with `--quick`, and RESULTS.<measures>.md for a subset, so that a subset never overwrites the full run.
 */
function resultsName(only: Set<Measure>, quick: boolean): string {
  if (quick) return 'RESULTS.quick.md'
  const full = DEFAULT_MEASURES.every((m) => only.has(m)) && only.size === DEFAULT_MEASURES.length
  return full ? 'RESULTS.md' : `RESULTS.${[...only].join('-')}.md`
}

/** A path given on the command line, from the directory `npm run bench` was started in (npm runs this script in benchmarks/). */
function fromCaller(path: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), path)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`)
  process.exitCode = 1
})
