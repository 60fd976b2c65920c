/**
 * Measure `instructions` (on request): the machine instructions one read costs the client process,
 * each tool on its own mysql2 pool and on mysql-lifespan, counted by valgrind's callgrind. Reads per
 * second on this 2-core machine stray by several percent from one run to the next (the paired
 * measure's control row shows how far); an instruction count of the same work repeats to a few
 * hundredths of a percent, so it tells apart what the timed measures cannot: a change of 1 % in
 * what a read costs. It is not a speed: instructions differ in what they cost (cache misses,
 * branches), and under valgrind V8 compiles on the main thread (`--single-threaded`), as it does
 * in the background natively. The table therefore also gives the count without the garbage
 * collector and the optimizing compiler (V8's own functions, by name), the code that runs per read.
 *
 * Each side warms up, then callgrind's counters are dumped (which zeroes them) before the measured
 * reads and dumped again after them (callgrind_control), so start-up and warm-up are not counted.
 * Time runs some 50 times slower under valgrind; the lifespan side gets `aliveBypassMs` of 60 s so
 * that it decides as it does at native speed (no validation ping between a connection's reads,
 * scopes handed over as they are natively). The worker reports any ping or new connection during
 * the measured reads.
 */
import { execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import mysql from 'mysql2/promise'
import { TOOLS, type ToolName } from '../test/orm/support/tools.js'
import { fmtInt, fmtRatio, table } from './lib/stats.js'

const WORKER = fileURLToPath(new URL('./orm-instructions-worker.js', import.meta.url))
const TABLE = 'bench_orm_rows'
const ROWS = 1_000
const ALIVE_BYPASS_MS = 60_000
/** Reads per side: TypeORM and Sequelize cost about twice as much per read, so they make half as many. */
const READS: Record<ToolName, { warmup: number; measured: number }> = {
  kysely: { warmup: 20_000, measured: 10_000 },
  drizzle: { warmup: 20_000, measured: 10_000 },
  knex: { warmup: 20_000, measured: 10_000 },
  typeorm: { warmup: 10_000, measured: 5_000 },
  sequelize: { warmup: 10_000, measured: 5_000 },
}

const run = promisify(execFile)

/** Whether valgrind's callgrind and callgrind_control can run here. */
export function callgrindAvailable(): boolean {
  return spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('callgrind_control', ['-h'], { stdio: 'ignore' }).status === 0
}

/** Instructions of one side's measured reads, split by where they ran. */
interface Count {
  total: number
  gc: number
  compiler: number
  reads: number
  /** Validation pings and connections opened during the measured reads (0 when the native path was taken). */
  pings: number
  created: number
}

const GC = /Heap|Scaveng|Marking|MarkCompact|Sweep|Evacuat|heap::|FreeList|RememberedSet|SlotSet|Compactor|GCTracer|ConcurrentMarking/
const COMPILER = /v8::internal::compiler::|v8::internal::Compiler|Turbofan|Pipeline/

/**
 * Self cost per function of a callgrind dump written with `--compress-strings=no`: after a
 * `calls=` line, the next cost line is the call's inclusive cost, not the caller's own.
 */
export function splitDump(text: string): { total: number; gc: number; compiler: number } {
  let fn = ''
  let afterCalls = false
  let total = 0
  let gc = 0
  let compiler = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=')) {
      fn = line.slice(3)
      afterCalls = false
    } else if (line.startsWith('calls=')) afterCalls = true
    else if (/^[0-9+\-*]/.test(line)) {
      const cost = Number(line.split(' ')[1])
      if (!Number.isFinite(cost)) continue
      if (afterCalls) {
        afterCalls = false
        continue
      }
      total += cost
      if (GC.test(fn)) gc += cost
      else if (COMPILER.test(fn)) compiler += cost
    }
  }
  return { total, gc, compiler }
}

/** Runs one side under callgrind and counts its measured reads. */
async function countSide(config: Record<string, unknown>, dir: string): Promise<Count> {
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      // V8 writes and rewrites machine code: valgrind must notice.
      '--smc-check=all-non-file',
      '--compress-strings=no',
      '--compress-pos=no',
      `--callgrind-out-file=${dir}/cg.%p`,
      process.execPath,
      // Compilation and GC on the main thread: one thread, counted the same way on every run.
      '--single-threaded',
      WORKER,
      JSON.stringify(config),
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  )
  const pid = String(child.pid)
  let done: { pings: number; created: number } | undefined
  let error: string | undefined
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.startsWith('{')) continue
    const msg = JSON.parse(line) as { event: string; pings?: number; created?: number; message?: string }
    if (msg.event === 'ready') {
      await run('callgrind_control', ['-d', pid])
      child.stdin.write('go\n')
    } else if (msg.event === 'done') {
      await run('callgrind_control', ['-d', pid])
      done = { pings: msg.pings ?? 0, created: msg.created ?? 0 }
      child.stdin.write('exit\n')
    } else if (msg.event === 'error') error = msg.message
  }
  await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)))
  if (!done) throw new Error(`instruction count failed: ${error ?? `worker exited with ${child.exitCode}`}`)
  const split = splitDump(readFileSync(path.join(dir, `cg.${pid}.2`), 'utf8'))
  return { ...split, reads: Number(config.reads), ...done }
}

export interface InstructionOptions {
  url: string
  concurrency: number
  /** Scales every side's warm-up and measured reads (`--quick`: fewer). */
  readsScale: number
  log: (line: string) => void
}

/** Runs the measure for every tool, and a control pair (Kysely on its own pool, twice). */
export async function runOrmInstructions(options: InstructionOptions): Promise<{ markdown: string; ratios: Record<string, number> }> {
  const admin = await mysql.createConnection({ uri: options.url })
  await admin.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB`)
  await admin.query(`TRUNCATE ${TABLE}`)
  await admin.query(`INSERT INTO ${TABLE} (v) VALUES ${Array.from({ length: ROWS }, (_, i) => `('row ${i + 1}')`).join(',')}`)
  await admin.end()

  const rows: string[][] = []
  const ratios: Record<string, number> = {}
  const perRead = (c: Count, part: 'all' | 'own'): number => (part === 'all' ? c.total : c.total - c.gc - c.compiler) / c.reads
  for (const name of [...TOOLS, 'control'] as const) {
    const tool: ToolName = name === 'control' ? 'kysely' : name
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lifespan-cg-'))
    try {
      const base = { tool, url: options.url, table: TABLE, rows: ROWS, pool: 10, concurrency: options.concurrency, warmupReads: Math.round(READS[tool].warmup * options.readsScale), reads: Math.round(READS[tool].measured * options.readsScale), aliveBypassMs: ALIVE_BYPASS_MS }
      // The two sides at once, one per core: an instruction count does not depend on what else runs.
      const [plain, second] = await Promise.all([countSide({ ...base, side: 'plain' }, dir), countSide({ ...base, side: name === 'control' ? 'plain' : 'lifespan' }, dir)])
      const label = name === 'control' ? 'control: kysely on its own pool, twice' : name
      ratios[label] = perRead(plain, 'all') / perRead(second, 'all')
      const extra = second.pings + second.created > 0 ? ` (${second.pings} pings, ${second.created} connections opened during the reads)` : ''
      rows.push([
        label,
        fmtInt(perRead(plain, 'all')),
        fmtInt(perRead(second, 'all')),
        fmtRatio(perRead(plain, 'all') / perRead(second, 'all')),
        fmtInt(perRead(plain, 'own')),
        fmtInt(perRead(second, 'own')),
        fmtRatio(perRead(plain, 'own') / perRead(second, 'own')) + extra,
      ])
      options.log(`  ${label}: ${fmtInt(perRead(plain, 'all'))} and ${fmtInt(perRead(second, 'all'))} instructions per read${extra}`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  const markdown = [
    table(
      ['tool', 'own mysql2 pool, instructions/read', 'on mysql-lifespan', 'ratio', 'without GC and optimizing compiler: own pool', 'on mysql-lifespan', 'ratio'],
      rows,
    ),
    '',
    `Machine instructions of the client process per read by id (valgrind --tool=callgrind, node --single-threaded), concurrency ${options.concurrency}, pool of 10, ${ROWS} rows, ` +
      'after a warm-up, start-up and warm-up not counted; the two sides of a row ran at once. Ratio: own pool over mysql-lifespan (above 1: mysql-lifespan costs fewer instructions). ' +
      `The lifespan side runs with aliveBypassMs ${ALIVE_BYPASS_MS} (time runs about 50 times slower under valgrind; see benchmarks/orm-instructions.ts). ` +
      'The control row counts the same side twice: how far two counts of the same work differ. ' +
      'An instruction count is not a speed; the timed measures (RESULTS.orm.md) are.',
  ].join('\n')
  return { markdown, ratios }
}
