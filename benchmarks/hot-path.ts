/**
 * Measure 1: hot-path overhead. `SELECT 1` on loopback, pool of 10, at concurrency 1, 16 and 64,
 * for plain mysql2 (callback and promise APIs), the naive safe strategy (ping on every checkout)
 * and mysql-lifespan (explicit and implicit scope). Each variant runs in a fresh process; the
 * variants alternate within a round (order reversed every other round), and the table shows the
 * median over rounds and ratios against plain checkout + query.
 */
import { fileURLToPath } from 'node:url'
import { runChild } from './lib/child.js'
import { fmtBusy, waitForQuiet } from './lib/quiet.js'
import { type HotPathConfig, type HotPathLine, type Variant, VARIANTS, VARIANT_TITLES } from './lib/hot-path-types.js'
import { fmtInt, fmtMs, fmtRatio, median, max, min, table } from './lib/stats.js'

const WORKER = fileURLToPath(new URL('./hot-path-worker.js', import.meta.url))

export interface HotPathOptions {
  url: string
  rounds: number
  warmupMs: number
  durationMs: number
  concurrencies?: number[]
  variants?: readonly Variant[]
  /** A patched build to load instead of dist/ (see --lib). */
  lib?: string
  log: (line: string) => void
}

export interface HotPathResult {
  markdown: string
  /** lifespan-scope / checkout-cb per concurrency, median of rounds. */
  ratios: Record<number, { scope: number; implicit: number }>
  targetsMet: boolean
}

const TARGET: Record<number, number> = { 1: 0.9, 16: 0.95, 64: 0.95 }

export async function runHotPath(options: HotPathOptions): Promise<HotPathResult> {
  const concurrencies = options.concurrencies ?? [1, 16, 64]
  const variants = options.variants ?? VARIANTS
  const samples = new Map<string, HotPathLine[]>()
  const key = (v: Variant, c: number): string => `${v}@${c}`
  const loads: string[] = []
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? [...variants] : [...variants].reverse()
    const busy: string[] = []
    for (const variant of order) {
      busy.push(fmtBusy(await waitForQuiet()))
      const config: HotPathConfig = {
        variant,
        url: options.url,
        pool: 10,
        concurrencies,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        ...(variant.startsWith('lifespan') && options.lib ? { lib: options.lib } : {}),
      }
      const lines = await runChild(WORKER, config, { timeoutMs: 60_000 + concurrencies.length * (options.warmupMs + options.durationMs) * 2 })
      for (const line of lines as unknown as HotPathLine[]) {
        if (line.event !== 'result') continue
        const k = key(line.variant, line.concurrency)
        samples.set(k, [...(samples.get(k) ?? []), line])
      }
    }
    loads.push(busy.join(' '))
    options.log(`  round ${round + 1}/${options.rounds} done; CPU busy before each trial: ${busy.join(', ')}`)
  }

  const ops = (v: Variant, c: number): number[] => (samples.get(key(v, c)) ?? []).map((l) => l.opsPerSec)
  const med = (v: Variant, c: number): number => median(ops(v, c))
  // Paired by round: the ratio of two variants measured minutes apart in the same round.
  const paired = (v: Variant, base: Variant, c: number): number[] => {
    const a = ops(v, c)
    const b = ops(base, c)
    return a.map((x, i) => x / (b[i] ?? Number.NaN)).filter(Number.isFinite)
  }
  const rows: string[][] = []
  for (const c of concurrencies) {
    for (const v of variants) {
      const lines = samples.get(key(v, c)) ?? []
      const pr = paired(v, 'checkout-cb', c)
      rows.push([
        String(c),
        VARIANT_TITLES[v],
        fmtInt(med(v, c)),
        fmtRatio(med(v, c) / med('checkout-cb', c)),
        pr.length ? `${min(pr).toFixed(2)}–${max(pr).toFixed(2)}` : '-',
        fmtRatio(med(v, c) / med('checkout-promise', c)),
        fmtMs(median(lines.map((l) => l.p50Ms))),
        fmtMs(median(lines.map((l) => l.p99Ms))),
        median(lines.map((l) => l.cpuUsPerOp)).toFixed(1),
        String(lines.reduce((n, l) => n + l.errors, 0)),
      ])
    }
  }
  const ratios: HotPathResult['ratios'] = {}
  const targetRows: string[][] = []
  let targetsMet = true
  for (const c of concurrencies) {
    const scope = med('lifespan-scope', c) / med('checkout-cb', c)
    const implicit = med('lifespan-implicit', c) / med('checkout-cb', c)
    const scopeP = med('lifespan-scope', c) / med('checkout-promise', c)
    ratios[c] = { scope, implicit }
    const target = TARGET[c] ?? 0.95
    const met = scope >= target && implicit >= target
    targetsMet &&= met
    targetRows.push([
      String(c),
      `>= ${target.toFixed(2)}x`,
      fmtRatio(scope),
      fmtRatio(implicit),
      fmtRatio(scopeP),
      fmtRatio(med('checkout-ping-cb', c) / med('checkout-cb', c)),
      met ? 'met' : '**not met**',
    ])
  }
  const markdown = [
    table(
      ['concurrency', 'variant', 'ops/s (median)', 'vs checkout+query cb', 'paired per round', 'vs checkout+query promise', 'p50 ms', 'p99 ms', 'CPU µs/op', 'errors'],
      rows,
      2,
    ),
    '',
    'Targets (mysql-lifespan against plain mysql2 checkout + query, callback API; ratio of medians):',
    '',
    table(['concurrency', 'target', 'scope()', 'implicit scope', 'scope() vs promise checkout', 'naive ping-on-checkout', 'verdict'], targetRows),
    '',
    `${options.rounds} rounds; each variant in a fresh process; ${options.warmupMs} ms warm-up and ${options.durationMs} ms measured per concurrency; ` +
      `variant order reversed every other round. Machine CPU busy (all cores, 0.5 s sample) just before each trial, per round: ${loads.join('; ')}.`,
  ].join('\n')
  return { markdown, ratios, targetsMet }
}
