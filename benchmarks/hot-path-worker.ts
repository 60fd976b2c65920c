/**
 * One hot-path variant in its own process: `SELECT 1` over loopback with a pool of 10, at each
 * requested concurrency in turn (warm-up, then a timed window). Prints one JSON line per
 * concurrency. Run by hot-path.ts; not meant to be run by hand, but it can be:
 *   node .build/bench/benchmarks/hot-path-worker.js '{"variant":"lifespan-scope","url":"mysql://root@127.0.0.1/test","concurrencies":[16],"warmupMs":500,"durationMs":2000}'
 */
import { performance } from 'node:perf_hooks'
import mysql from 'mysql2'
import { pathToFileURL } from 'node:url'
import { childConfig, childMain, emit } from './lib/child.js'
import type { HotPathConfig, HotPathLine } from './lib/hot-path-types.js'
import { Latencies } from './lib/stats.js'

/** The library under test: the build in dist/, or a patched copy (`lib`: path of its index.js) to measure a proposed change. */
async function loadLibrary(lib: string | undefined): Promise<typeof import('mysql-lifespan')> {
  return lib ? ((await import(pathToFileURL(lib).href)) as typeof import('mysql-lifespan')) : await import('mysql-lifespan')
}

type Op = () => Promise<unknown>

async function setup(config: HotPathConfig): Promise<{ op: Op; close: () => Promise<unknown> }> {
  const sql = config.sql ?? 'SELECT 1'
  const poolOptions = { uri: config.url, connectionLimit: config.pool }
  switch (config.variant) {
    case 'pool-query-cb': {
      const pool = mysql.createPool(poolOptions)
      const op: Op = () =>
        new Promise((resolve, reject) => {
          pool.query(sql, (err, rows) => (err ? reject(err) : resolve(rows)))
        })
      return { op, close: () => new Promise((r) => pool.end(r)) }
    }
    case 'checkout-cb':
    case 'checkout-ping-cb': {
      const pool = mysql.createPool(poolOptions)
      const ping = config.variant === 'checkout-ping-cb'
      const op: Op = () =>
        new Promise((resolve, reject) => {
          pool.getConnection((err, conn) => {
            if (err) return reject(err)
            const run = (): void => {
              conn.query(sql, (qerr, rows) => {
                conn.release()
                if (qerr) reject(qerr)
                else resolve(rows)
              })
            }
            if (!ping) return run()
            conn.ping((perr) => {
              if (perr) {
                conn.destroy()
                return reject(perr)
              }
              run()
            })
          })
        })
      return { op, close: () => new Promise((r) => pool.end(r)) }
    }
    case 'pool-query-promise': {
      const pool = mysql.createPool(poolOptions).promise()
      return { op: () => pool.query(sql), close: () => pool.end() }
    }
    case 'checkout-promise': {
      const pool = mysql.createPool(poolOptions).promise()
      const op: Op = async () => {
        const conn = await pool.getConnection()
        try {
          return await conn.query(sql)
        } finally {
          conn.release()
        }
      }
      return { op, close: () => pool.end() }
    }
    case 'lifespan-scope':
    case 'lifespan-implicit': {
      const { createLifespan } = await loadLibrary(config.lib)
      const lifespan = createLifespan({ databases: { default: { uri: config.url, connectionLimit: config.pool } } })
      const op: Op =
        config.variant === 'lifespan-scope'
          ? () => lifespan.scope(() => lifespan.db().query(sql))
          : () => lifespan.db().query(sql)
      return { op, close: () => lifespan.shutdown() }
    }
  }
}

async function phase(op: Op, concurrency: number, ms: number, latencies?: Latencies): Promise<{ ops: number; errors: number }> {
  let stop = false
  let ops = 0
  let errors = 0
  const timer = setTimeout(() => (stop = true), ms)
  const worker = async (): Promise<void> => {
    while (!stop) {
      const t0 = performance.now()
      try {
        await op()
      } catch {
        errors++
      }
      latencies?.record(performance.now() - t0)
      ops++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  clearTimeout(timer)
  return { ops, errors }
}

childMain(async () => {
  const config = childConfig<HotPathConfig>()
  const { op, close } = await setup(config)
  for (const concurrency of config.concurrencies) {
    await phase(op, concurrency, config.warmupMs)
    const latencies = new Latencies()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const { ops, errors } = await phase(op, concurrency, config.durationMs, latencies)
    const elapsed = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const line: HotPathLine = {
      event: 'result',
      variant: config.variant,
      concurrency,
      ops,
      opsPerSec: (ops / elapsed) * 1000,
      p50Ms: latencies.quantile(0.5),
      p99Ms: latencies.quantile(0.99),
      cpuUsPerOp: (cpu.user + cpu.system) / ops,
      errors,
    }
    emit(line as unknown as Record<string, unknown>)
  }
  await close()
})
