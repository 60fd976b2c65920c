/**
 * Measure 4 in its own process (run with --expose-gc): many scopes, each running one
 * `SELECT 1`, sequentially and at high concurrency on a pool of 10. Reports heap after GC at
 * start, at every tenth and at the end, errors, and latencies. `mode: 'plain'` runs the same
 * load on a plain mysql2 pool (getConnection + query + release) for the queue-wait reference.
 */
import { performance } from 'node:perf_hooks'
import mysql from 'mysql2'
import { createLifespan } from 'mysql-lifespan'
import { childConfig, childMain, emit } from './lib/child.js'
import { Latencies } from './lib/stats.js'

export interface ScaleConfig {
  mode: 'lifespan' | 'plain'
  url: string
  pool: number
  /** Scopes run one after another. 0 skips the phase. */
  sequential: number
  /** Scopes run by `concurrency` workers. 0 skips the phase. */
  concurrent: number
  concurrency: number
}

const gc = (globalThis as { gc?: () => void }).gc
function heapAfterGc(): number {
  if (!gc) throw new Error('run with --expose-gc')
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

interface Engine {
  /** One unit of work; `waited` gets the time until the statement had its result (acquire + query). */
  unit(waited: Latencies): Promise<void>
  stats(): Record<string, unknown>
  close(): Promise<unknown>
}

function engine(config: ScaleConfig): Engine {
  if (config.mode === 'plain') {
    const pool = mysql.createPool({ uri: config.url, connectionLimit: config.pool })
    return {
      unit: (waited) =>
        new Promise((resolve, reject) => {
          const t0 = performance.now()
          pool.getConnection((err, conn) => {
            if (err) return reject(err)
            waited.record(performance.now() - t0)
            conn.query('SELECT 1', (qerr) => {
              conn.release()
              if (qerr) reject(qerr)
              else resolve()
            })
          })
        }),
      stats: () => ({}),
      close: () => new Promise((r) => pool.end(r)),
    }
  }
  const lifespan = createLifespan({ databases: { default: { uri: config.url, connectionLimit: config.pool } } })
  return {
    unit: (waited) =>
      lifespan.scope(async () => {
        const t0 = performance.now()
        await lifespan.db().query('SELECT 1')
        waited.record(performance.now() - t0)
      }),
    stats: () => {
      const s = lifespan.stats()
      return { activeScopes: s.activeScopes, ...s.aliases.default }
    },
    close: () => lifespan.shutdown(),
  }
}

async function phase(name: string, e: Engine, total: number, concurrency: number): Promise<void> {
  const waited = new Latencies()
  const scopeLatency = new Latencies()
  const heap: number[] = [heapAfterGc()]
  const rssStart = process.memoryUsage().rss
  const step = Math.max(1, Math.floor(total / 10))
  let next = 0
  let done = 0
  let errors = 0
  const firstErrors: string[] = []
  let nextSample = step
  // Sampling the heap pauses every worker: GC runs between two batches, not under them.
  let gate: Promise<void> | undefined
  const t0 = performance.now()
  const worker = async (): Promise<void> => {
    while (next < total) {
      if (gate) await gate
      next++
      const s0 = performance.now()
      try {
        await e.unit(waited)
      } catch (err) {
        errors++
        if (firstErrors.length < 3) firstErrors.push(String((err as Error)?.message ?? err))
      }
      scopeLatency.record(performance.now() - s0)
      done++
      if (done >= nextSample && !gate) {
        nextSample += step
        let open!: () => void
        gate = new Promise((r) => (open = r))
        // Wait for the in-flight units to finish, then sample.
        while (done < next) await new Promise((r) => setImmediate(r))
        heap.push(heapAfterGc())
        gate = undefined
        open()
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsedMs = performance.now() - t0
  heap.push(heapAfterGc())
  emit({
    event: 'phase',
    name,
    total: done,
    concurrency,
    errors,
    firstErrors,
    elapsedMs,
    perSec: (done / elapsedMs) * 1000,
    heap,
    rssStart,
    rssEnd: process.memoryUsage().rss,
    waitP50: waited.quantile(0.5),
    waitP99: waited.quantile(0.99),
    waitMax: waited.quantile(1),
    scopeP50: scopeLatency.quantile(0.5),
    scopeP99: scopeLatency.quantile(0.99),
    stats: e.stats(),
  })
}

childMain(async () => {
  const config = childConfig<ScaleConfig>()
  const e = engine(config)
  // Warm-up: connections open, code optimised, before the first heap sample.
  for (let i = 0; i < 2_000; i++) await e.unit(new Latencies(10))
  if (config.sequential > 0) await phase('sequential', e, config.sequential, 1)
  if (config.concurrent > 0) await phase('concurrent', e, config.concurrent, config.concurrency)
  await e.close()
})
