/**
 * Measure 4: scale. 1,000,000 sequential scopes and 100,000 scopes at concurrency 200 on a pool
 * of 10, each scope running one `SELECT 1`; heap after GC at start, every tenth and end; errors;
 * the wait for a connection at concurrency 200, with a plain mysql2 pool under the same load for
 * reference.
 */
import { fileURLToPath } from 'node:url'
import { runChild } from './lib/child.js'
import { fmtInt, fmtMiB, fmtMs, table } from './lib/stats.js'
import type { ScaleConfig } from './scale-worker.js'

const WORKER = fileURLToPath(new URL('./scale-worker.js', import.meta.url))

interface Phase {
  name: 'sequential' | 'concurrent'
  total: number
  concurrency: number
  errors: number
  firstErrors: string[]
  elapsedMs: number
  perSec: number
  heap: number[]
  rssStart: number
  rssEnd: number
  waitP50: number
  waitP99: number
  waitMax: number
  scopeP50: number
  scopeP99: number
  stats: { open?: number; inUse?: number; activeScopes?: number; created?: number; pings?: number }
}

export interface ScaleOptions {
  url: string
  sequential: number
  concurrent: number
  log: (line: string) => void
}

export async function runScale(options: ScaleOptions): Promise<{ markdown: string; errors: number; heapGrowthMiB: number }> {
  const base: Omit<ScaleConfig, 'mode'> = { url: options.url, pool: 10, sequential: options.sequential, concurrent: options.concurrent, concurrency: 200 }
  const run = async (config: ScaleConfig): Promise<Phase[]> =>
    (await runChild(WORKER, config, { nodeArgs: ['--expose-gc'], timeoutMs: 30 * 60_000 })).filter((l) => l.event === 'phase') as unknown as Phase[]
  const lifespan = await run({ ...base, mode: 'lifespan' })
  for (const p of lifespan) options.log(`  mysql-lifespan ${p.name}: ${fmtInt(p.total)} scopes in ${(p.elapsedMs / 1000).toFixed(1)} s, errors ${p.errors}`)
  const plain = await run({ ...base, mode: 'plain', sequential: 0 })
  for (const p of plain) options.log(`  plain mysql2 ${p.name}: ${fmtInt(p.total)} units in ${(p.elapsedMs / 1000).toFixed(1)} s`)

  const rows = [...lifespan.map((p) => ({ who: 'mysql-lifespan', p })), ...plain.map((p) => ({ who: 'plain mysql2 (reference)', p }))].map(({ who, p }) => [
    who,
    p.name === 'sequential' ? 'sequential' : `concurrency ${p.concurrency}`,
    fmtInt(p.total),
    String(p.errors),
    `${(p.elapsedMs / 1000).toFixed(1)} s`,
    fmtInt(p.perSec),
    fmtMiB(p.heap[0]!),
    fmtMiB(Math.max(...p.heap.slice(1))),
    fmtMiB(p.heap[p.heap.length - 1]!),
    `${fmtMiB(p.rssStart)} → ${fmtMiB(p.rssEnd)}`,
    fmtMs(p.waitP50, 2),
    fmtMs(p.waitP99, 2),
    fmtMs(p.waitMax, 2),
  ])
  const errors = lifespan.reduce((n, p) => n + p.errors, 0)
  // Growth between the first sample after the load started (connections open) and the end.
  const growth = Math.max(...lifespan.map((p) => p.heap[p.heap.length - 1]! - p.heap[1]!))
  const heapSeries = lifespan.map((p) => `- ${p.name}: ${p.heap.map(fmtMiB).join(', ')} MiB`).join('\n')
  const end = lifespan[lifespan.length - 1]?.stats
  const markdown = [
    table(
      ['client', 'load', 'scopes', 'errors', 'time', 'scopes/s', 'heap start MiB', 'heap max MiB', 'heap end MiB', 'RSS MiB', 'wait p50 ms', 'wait p99 ms', 'wait max ms'],
      rows,
      2,
    ),
    '',
    'Heap after GC (`node --expose-gc`, two `gc()` calls, `heapUsed`), sampled at the start, after every tenth of the scopes and at the end:',
    heapSeries,
    '',
    '"wait" for mysql-lifespan is the time from `db().query()` to its result inside the scope: the acquisition (waiting for one of the 10 ' +
      'connections, validation) plus one `SELECT 1` round trip; for plain mysql2 it is the `getConnection` wait alone. At concurrency 200 on 10 connections ' +
      'it is dominated by the queue, about 20 × the service time.',
    `After the run: ${end ? `${end.open} connections open, ${end.inUse} in use, ${end.activeScopes} scopes active, ${end.created} created in total, ${end.pings} validation pings` : '-'}.` +
      ` Heap growth from the first sample under load to the end: ${fmtMiB(growth)} MiB.`,
  ].join('\n')
  return { markdown, errors, heapGrowthMiB: growth / 2 ** 20 }
}
