/**
 * Measure 1: hot-path overhead. `SELECT 1` on loopback, pool of 10, at concurrency 1, 16 and 64,
 * for plain mysql2 (callback and promise APIs), the naive safe strategy (ping on every checkout)
 * and mysql-lifespan (explicit and implicit scope).
 *
 * Every variant runs in its own process (AsyncLocalStorage turns on promise hooks for the whole
 * process; a baseline sharing it would pay for them too), started once and kept warm. The
 * orchestrator then interleaves short windows: for each round, each concurrency, every variant
 * in turn (order reversed every other round), one at a time. On a shared 2-core machine the
 * background load drifts over seconds; windows of neighbouring variants seconds apart see nearly
 * the same load, and medians over many rounds absorb the rest.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { runChild } from './lib/child.js'
import { type CountLine, type HotPathConfig, type HotPathLine, type Variant, VARIANTS, VARIANT_TITLES, type WorkerCommand } from './lib/hot-path-types.js'
import { boost, cpuBusy, fmtBusy } from './lib/quiet.js'
import { fmtInt, fmtMs, fmtRatio, max, median, min, table } from './lib/stats.js'

const WORKER = fileURLToPath(new URL('./hot-path-worker.js', import.meta.url))

export interface HotPathOptions {
  url: string
  rounds: number
  /** Warm-up per worker and concurrency before the first round. */
  warmupMs: number
  /** One measured window. */
  windowMs: number
  concurrencies?: number[]
  variants?: readonly Variant[]
  /** A patched build of the library (see --lib): its two variants are measured beside those of dist/. */
  lib?: string
  log: (line: string) => void
}

export interface HotPathResult {
  markdown: string
  /** lifespan / checkout-cb per concurrency, median of windows. */
  ratios: Record<number, { scope: number; implicit: number }>
  targetsMet: boolean
}

const TARGET: Record<number, number> = { 1: 0.9, 16: 0.95, 64: 0.95 }

/** A persistent worker process running one variant. */
class Worker {
  private readonly child: ChildProcess
  private buffer = ''
  private stderr = ''
  private waiting: Array<{ resolve: (l: HotPathLine) => void; reject: (e: Error) => void }> = []
  readonly ready: Promise<void>

  constructor(readonly label: string, config: HotPathConfig) {
    this.child = spawn(process.execPath, [WORKER, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] })
    boost(this.child.pid)
    let onReady!: () => void
    let onFail!: (e: Error) => void
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve
      onFail = reject
    })
    this.ready.catch(() => {})
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4_000)))
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buffer += d.toString()
      let nl: number
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = JSON.parse(this.buffer.slice(0, nl)) as Record<string, unknown>
        this.buffer = this.buffer.slice(nl + 1)
        if (line.event === 'ready') onReady()
        else if (line.event === 'window') this.waiting.shift()?.resolve(line as unknown as HotPathLine)
        else if (line.event === 'error') onFail(new Error(String(line.message)))
      }
    })
    this.child.on('exit', (code) => {
      const err = new Error(`${label} worker exited (${code}): ${this.stderr.slice(-1_000)}`)
      onFail(err)
      for (const w of this.waiting.splice(0)) w.reject(err)
    })
  }

  run(concurrency: number, ms: number): Promise<HotPathLine> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject })
      this.send({ cmd: 'run', concurrency, ms })
    })
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r))
    this.send({ cmd: 'exit' })
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  private send(command: WorkerCommand): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`)
  }
}

export async function runHotPath(options: HotPathOptions): Promise<HotPathResult> {
  const concurrencies = options.concurrencies ?? [1, 16, 64]
  const base = options.variants ?? VARIANTS
  // A trial is a variant, and for the library's variants with --lib, the patched build too.
  type Trial = { variant: Variant; patched: boolean; label: string }
  const trials: Trial[] = base.map((variant) => ({ variant, patched: false, label: variant }))
  if (options.lib) {
    for (const variant of base.filter((v) => v.startsWith('lifespan'))) trials.push({ variant, patched: true, label: `${variant}+patch` })
  }
  /** A worker's configuration for `trial`: the library's own build, or the patched one. */
  const configFor = (trial: Trial, run: Omit<HotPathConfig, 'variant' | 'url' | 'pool' | 'lib'>): HotPathConfig => ({
    variant: trial.variant,
    url: options.url,
    pool: 10,
    ...run,
    ...(trial.patched && options.lib ? { lib: options.lib } : {}),
  })
  const title = (t: string): string => (t.endsWith('+patch') ? `${VARIANT_TITLES[t.slice(0, -6) as Variant]}, **patched**` : VARIANT_TITLES[t as Variant])

  const workers = new Map<string, Worker>()
  const samples = new Map<string, HotPathLine[]>()
  const key = (v: string, c: number): string => `${v}@${c}`
  const busy: string[] = []
  try {
    for (const trial of trials) {
      const config = configFor(trial, { concurrencies, warmupMs: options.warmupMs, durationMs: options.windowMs, persistent: true })
      workers.set(trial.label, new Worker(trial.label, config))
    }
    await Promise.all([...workers.values()].map((w) => w.ready))
    // Warm-up: every worker at every concurrency (opens its connections, optimises its code).
    for (const c of [...concurrencies].reverse()) for (const w of workers.values()) await w.run(c, options.warmupMs)

    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? [...trials] : [...trials].reverse()
      busy.push(fmtBusy(await cpuBusy(300)))
      for (const c of concurrencies) {
        for (const trial of order) {
          const line = await workers.get(trial.label)!.run(c, options.windowMs)
          const k = key(trial.label, c)
          samples.set(k, [...(samples.get(k) ?? []), line])
        }
      }
      if ((round + 1) % Math.max(1, Math.floor(options.rounds / 4)) === 0 || round === options.rounds - 1) {
        options.log(`  round ${round + 1}/${options.rounds}`)
      }
    }
  } finally {
    await Promise.all([...workers.values()].map((w) => w.stop().catch(() => {})))
  }

  // Structure of one operation, deterministic: what each variant allocates in async resources.
  const structure: string[][] = []
  for (const trial of trials) {
    const config = configFor(trial, { concurrencies: [16], warmupMs: 300, durationMs: 0, count: true })
    const [line] = (await runChild(WORKER, config, { timeoutMs: 60_000 })).filter((l) => l.event === 'count') as unknown as CountLine[]
    const per = line?.perOp ?? {}
    const f = (n: number | undefined): string => (n ?? 0).toFixed(1)
    structure.push([title(trial.label), f(per.PROMISE), f(per.Timeout), f(per.TickObject), f(Object.values(per).reduce((a, b) => a + b, 0))])
  }

  // CPU of the client-side path alone: the same operations with mysql2's query answered in-process.
  const fakeVariants = trials.filter((t) => ['checkout-cb', 'checkout-promise', 'als-floor', 'lifespan-scope', 'lifespan-implicit'].includes(t.variant))
  const fake = new Map<string, HotPathLine[]>()
  for (let round = 0; round < 3; round++) {
    for (const trial of round % 2 === 0 ? fakeVariants : [...fakeVariants].reverse()) {
      const config = configFor(trial, { concurrencies: [16], warmupMs: 500, durationMs: 1_500, fakeNetwork: true })
      const [line] = (await runChild(WORKER, config, { timeoutMs: 60_000 })).filter((l) => l.event === 'result') as unknown as HotPathLine[]
      if (line) fake.set(trial.label, [...(fake.get(trial.label) ?? []), line])
    }
  }
  const fakeBase = median((fake.get('checkout-cb') ?? []).map((l) => 1_000_000 / l.opsPerSec))
  const fakeRows = fakeVariants.map((t) => {
    const lines = fake.get(t.label) ?? []
    const wall = median(lines.map((l) => 1_000_000 / l.opsPerSec))
    return [
      title(t.label),
      wall.toFixed(2),
      median(lines.map((l) => l.cpuUsPerOp)).toFixed(2),
      median(lines.map((l) => l.gcUsPerOp)).toFixed(2),
      (wall - fakeBase).toFixed(2),
    ]
  })

  const ops = (v: string, c: number): number[] => (samples.get(key(v, c)) ?? []).map((l) => l.opsPerSec)
  const med = (v: string, c: number): number => median(ops(v, c))
  // Paired by round: two windows of the same round and concurrency, seconds apart.
  const paired = (v: string, against: string, c: number): number[] => {
    const a = ops(v, c)
    const b = ops(against, c)
    return a.map((x, i) => x / (b[i] ?? Number.NaN)).filter(Number.isFinite)
  }
  const rows: string[][] = []
  for (const c of concurrencies) {
    for (const { label: v } of trials) {
      const lines = samples.get(key(v, c)) ?? []
      const pr = paired(v, 'checkout-cb', c)
      rows.push([
        String(c),
        title(v),
        fmtInt(med(v, c)),
        fmtRatio(med(v, c) / med('checkout-cb', c)),
        pr.length ? `${median(pr).toFixed(3)}x (${min(pr).toFixed(2)}–${max(pr).toFixed(2)})` : '-',
        fmtRatio(med(v, c) / med('checkout-promise', c)),
        fmtMs(median(lines.map((l) => l.p50Ms))),
        fmtMs(median(lines.map((l) => l.p99Ms))),
        median(lines.map((l) => l.cpuUsPerOp)).toFixed(1),
        median(lines.map((l) => l.gcUsPerOp)).toFixed(2),
        String(lines.reduce((n, l) => n + l.errors, 0)),
      ])
    }
  }
  const ratios: HotPathResult['ratios'] = {}
  const targetRows: string[][] = []
  let targetsMet = true
  const verdictRow = (c: number, suffix: string, label: string): boolean => {
    const target = TARGET[c] ?? 0.95
    const scope = med(`lifespan-scope${suffix}`, c) / med('checkout-cb', c)
    const implicit = med(`lifespan-implicit${suffix}`, c) / med('checkout-cb', c)
    const met = scope >= target && implicit >= target
    targetRows.push([
      label,
      `>= ${target.toFixed(2)}x`,
      fmtRatio(scope),
      fmtRatio(implicit),
      `${median(paired(`lifespan-scope${suffix}`, 'checkout-cb', c)).toFixed(3)}x`,
      fmtRatio(med(`lifespan-scope${suffix}`, c) / med('checkout-promise', c)),
      fmtRatio(med('als-floor', c) / med('checkout-cb', c)),
      fmtRatio(med(`lifespan-scope${suffix}`, c) / med('als-floor', c)),
      fmtRatio(med('checkout-ping-cb', c) / med('checkout-cb', c)),
      met ? 'met' : '**not met**',
    ])
    if (!suffix) ratios[c] = { scope, implicit }
    return met
  }
  for (const c of concurrencies) {
    targetsMet = verdictRow(c, '', String(c)) && targetsMet
    if (options.lib) verdictRow(c, '+patch', `${c} (patched)`)
  }
  const markdown = [
    table(
      ['concurrency', 'variant', 'ops/s (median)', 'vs checkout+query cb', 'paired by round: median (min–max)', 'vs checkout+query promise', 'p50 ms', 'p99 ms', 'CPU µs/op', 'GC µs/op', 'errors'],
      rows,
      2,
    ),
    '',
    'Targets (mysql-lifespan against plain mysql2 `getConnection` + query + release, callback API; ratio of medians, and the median of per-round paired ratios):',
    '',
    table(
      ['concurrency', 'target', 'scope()', 'implicit scope', 'scope() paired', 'scope() vs promise checkout', 'AsyncLocalStorage floor', 'scope() vs floor', 'naive ping-on-checkout', 'verdict'],
      targetRows,
    ),
    '',
    '"AsyncLocalStorage floor": the `als-floor` variant against the same baseline, the least any scope-per-unit-of-work design ' +
      'with a promise API does (no validation, no bookkeeping). What was done about a missed target, and what the rest pays for: ' +
      '[README.md, "The hot-path targets"](README.md#the-hot-path-targets-what-was-done-and-what-the-rest-costs).',
    '',
    'Async resources created per operation at concurrency 16 (async_hooks `init` events over 2,000 operations; deterministic, unlike the timings). ' +
      'Each operation of the driver loop itself accounts for one promise (its `await`); a promise costs an allocation, a microtask and, ' +
      'once AsyncLocalStorage is in use (Node 20), a promise-hook call:',
    '',
    table(['variant', 'promises', 'timers', 'nextTicks', 'total'], structure),
    '',
    'The client-side path alone: the same operations at concurrency 16 with mysql2\'s `PoolConnection#query` answered in-process ' +
      '(on `setImmediate`) after a real warm-up, so no socket, no server. Median of 3 alternating runs of 1.5 s; ' +
      '"CPU" includes V8\'s parallel GC threads:',
    '',
    table(['variant', 'wall µs/op', 'CPU µs/op', 'GC µs/op', 'added wall µs/op vs checkout cb'], fakeRows),
    '',
    `${options.rounds} rounds × ${concurrencies.length} concurrencies × ${trials.length} variants, one ${options.windowMs} ms window each, ` +
      `interleaved (order reversed every other round), each variant in its own warm process (${options.warmupMs} ms warm-up per concurrency). ` +
      'Baselines are wrapped in one promise per operation, the same driver loop as mysql-lifespan (`await op()` in each of `concurrency` loops). ' +
      '"CPU µs/op" is the process\'s user + system time per operation (kernel time for the socket writes included); ' +
      '"GC µs/op" is the garbage collector\'s main-thread pause time per operation (PerformanceObserver `gc` entries). ' +
      `Machine CPU busy (all cores, 0.3 s sample) at the start of each round: ${busy.join(', ')}.`,
  ].join('\n')
  return { markdown, ratios, targetsMet }
}
