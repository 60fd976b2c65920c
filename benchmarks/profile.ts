/**
 * `npm run bench -- --only=profile`: where the hot path's time goes. Runs plain checkout + query
 * and mysql-lifespan `scope()` (and a patched build with --lib) at concurrency 16 under
 * `node --cpu-prof`, and prints self time per operation by category (µs/op). Profiles are kept
 * in benchmarks/.profiles/ for a closer look (Chrome DevTools, speedscope).
 * Wall-clock sampling: the write() syscall to the loopback socket shows as `(writeBuffer)`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runChild } from './lib/child.js'
import { BENCH_DIR } from './lib/deps.js'
import type { HotPathConfig, HotPathLine, Variant } from './lib/hot-path-types.js'
import { table } from './lib/stats.js'

const WORKER = fileURLToPath(new URL('./hot-path-worker.js', import.meta.url))

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>
  samples: number[]
  timeDeltas: number[]
}

function category(url: string, fn: string): string {
  const u = url.replace(/.*node_modules\//, 'nm/').replace(/.*\/(dist|patched\/dist)\//, 'lib/')
  if (!u) return fn === '(garbage collector)' ? 'garbage collector' : fn === '(idle)' ? 'idle (waiting for I/O)' : fn === 'writeBuffer' ? 'socket write syscall' : `native ${fn}`
  if (u.startsWith('nm/mysql2')) return 'mysql2'
  if (u.startsWith('lib/')) return `mysql-lifespan ${u.slice(4)}`
  if (u.includes('async_hooks')) return 'async_hooks (AsyncLocalStorage)'
  if (u.includes('timers')) return 'timers'
  if (u.includes('task_queues')) return 'nextTick queue'
  if (/stream|node:net|buffer/.test(u)) return 'streams / net'
  if (/modules|bootstrap|realm|node:path|package_json/.test(u)) return 'module loading (start-up)'
  if (u.includes('hot-path-worker')) return 'benchmark loop'
  return 'other Node internals'
}

function selfTimeByCategory(file: string): Map<string, number> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const out = new Map<string, number>()
  p.samples.forEach((id, i) => {
    const cf = byId.get(id)!.callFrame
    const c = category(cf.url, cf.functionName)
    out.set(c, (out.get(c) ?? 0) + (p.timeDeltas[i] ?? 0))
  })
  return out
}

export async function runProfile(options: { url: string; lib?: string; log: (l: string) => void }): Promise<string> {
  const dir = join(BENCH_DIR, '.profiles')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const runs: Array<{ label: string; variant: Variant; lib?: string }> = [
    { label: 'checkout-cb', variant: 'checkout-cb' },
    { label: 'lifespan-scope', variant: 'lifespan-scope' },
  ]
  if (options.lib) runs.push({ label: 'lifespan-scope+patch', variant: 'lifespan-scope', lib: options.lib })
  const perOp = new Map<string, Map<string, number>>()
  for (const run of runs) {
    const out = join(dir, run.label)
    mkdirSync(out)
    const config: HotPathConfig = { variant: run.variant, url: options.url, pool: 10, concurrencies: [16], warmupMs: 1_000, durationMs: 4_000, ...(run.lib ? { lib: run.lib } : {}) }
    const lines = (await runChild(WORKER, config, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${out}`] })) as unknown as HotPathLine[]
    const ops = lines.find((l) => l.event === 'result')?.ops ?? 1
    const file = readdirSync(out).find((f) => f.endsWith('.cpuprofile'))
    if (!file) throw new Error(`no profile written for ${run.label}`)
    // The profile covers start-up, warm-up and the window: divide by every operation run.
    const total = ops * (1 + config.warmupMs / config.durationMs)
    perOp.set(run.label, new Map([...selfTimeByCategory(join(out, file))].map(([k, v]) => [k, v / total])))
    options.log(`  ${run.label}: ${join(out, file)}`)
  }
  const categories = [...new Set([...perOp.values()].flatMap((m) => [...m.keys()]))]
  const base = perOp.get('checkout-cb')!
  const rows = categories
    .map((c) => ({ c, values: runs.map((r) => perOp.get(r.label)!.get(c) ?? 0) }))
    .filter(({ values }) => Math.max(...values) >= 0.1)
    .sort((a, b) => b.values[1]! - (base.get(b.c) ?? 0) - (a.values[1]! - (base.get(a.c) ?? 0)))
    .map(({ c, values }) => [c, ...values.map((v) => v.toFixed(2))])
  return [
    table(['self time per operation (µs), concurrency 16', ...runs.map((r) => r.label)], rows),
    '',
    'Sorted by what mysql-lifespan adds over plain checkout + query. Approximate: the warm-up is counted as operations at the measured rate.',
  ].join('\n')
}
