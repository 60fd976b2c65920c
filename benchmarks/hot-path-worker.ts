/**
 * One hot-path variant in its own process: `SELECT 1` over loopback with a pool of 10.
 * Persistent mode (hot-path.ts): waits for commands on stdin, each a timed window at one
 * concurrency, so the orchestrator can interleave short windows of every variant.
 * One-shot mode (profile.ts, or by hand): warm-up then one window per concurrency, e.g.
 *   node .build/bench/benchmarks/hot-path-worker.js '{"variant":"lifespan-scope","url":"mysql://root@127.0.0.1/test","concurrencies":[16],"warmupMs":500,"durationMs":2000}'
 */
import { AsyncLocalStorage, createHook } from 'node:async_hooks'
import { PerformanceObserver, performance } from 'node:perf_hooks'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import mysql from 'mysql2'
import { pathToFileURL } from 'node:url'
import { childConfig, childMain, emit } from './lib/child.js'
import type { HotPathConfig, HotPathLine, WorkerCommand } from './lib/hot-path-types.js'
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
    case 'als-floor': {
      // The least any library with a scope per unit of work on AsyncLocalStorage and a promise API
      // does: a store per scope, the scope's promise, the statement's promise. No validation, no
      // bookkeeping, no deadline: a lower bound on the cost of the design, not a usable library.
      const pool = mysql.createPool(poolOptions)
      const als = new AsyncLocalStorage<{ id: number }>()
      let id = 0
      const query = (text: string): Promise<unknown> =>
        new Promise((resolve, reject) => {
          if (!als.getStore()) return reject(new Error('no scope'))
          pool.getConnection((err, conn) => {
            if (err) return reject(err)
            conn.query(text, (qerr, rows, fields) => {
              conn.release()
              if (qerr) reject(qerr)
              else resolve([rows, fields])
            })
          })
        })
      const scope = <T>(fn: () => Promise<T>): Promise<T> =>
        new Promise<T>((resolve, reject) => als.run({ id: ++id }, () => fn().then(resolve, reject)))
      return { op: () => scope(() => query(sql)), close: () => new Promise((r) => pool.end(r)) }
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

/** Time spent in V8's garbage collector (main-thread pauses), in ms, since the worker started. */
let gcMs = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration
}).observe({ entryTypes: ['gc'] })
/** GC entries are delivered on a later turn of the event loop: let them arrive. */
const gcSettled = (): Promise<number> => new Promise((resolve) => setTimeout(() => resolve(gcMs), 20))

async function measure(op: Op, concurrency: number, durationMs: number): Promise<Omit<HotPathLine, 'event' | 'variant'>> {
  const latencies = new Latencies()
  const gc0 = await gcSettled()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const { ops, errors } = await phase(op, concurrency, durationMs, latencies)
  const elapsed = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const gc = (await gcSettled()) - gc0
  return {
    gcUsPerOp: (gc * 1000) / Math.max(1, ops),
    concurrency,
    ops,
    opsPerSec: (ops / elapsed) * 1000,
    p50Ms: latencies.quantile(0.5),
    p99Ms: latencies.quantile(0.99),
    cpuUsPerOp: (cpu.user + cpu.system) / Math.max(1, ops),
    errors,
  }
}

/** Persistent mode: one JSON command per stdin line, one result line per command. */
async function serve(config: HotPathConfig, op: Op, close: () => Promise<unknown>): Promise<void> {
  emit({ event: 'ready' })
  let buffer = ''
  for await (const chunk of process.stdin) {
    buffer += String(chunk)
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const command = JSON.parse(buffer.slice(0, nl)) as WorkerCommand
      buffer = buffer.slice(nl + 1)
      if (command.cmd === 'exit') {
        await close()
        return
      }
      const result = await measure(op, command.concurrency, command.ms)
      emit({ event: 'window', variant: config.variant, ...result })
    }
  }
  await close()
}

/**
 * Deterministic structure of one operation: how many promises, timers and ticks it creates.
 * (The hook itself turns on promise hooks, so this run is never timed.)
 */
async function count(config: HotPathConfig, op: Op): Promise<void> {
  for (const concurrency of config.concurrencies) {
    await phase(op, concurrency, config.warmupMs)
    const counts: Record<string, number> = {}
    let on = false
    const hook = createHook({
      init(_id, type) {
        if (on) counts[type] = (counts[type] ?? 0) + 1
      },
    }).enable()
    const n = 2_000
    let done = 0
    on = true
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (done < n) {
          done++
          await op()
        }
      }),
    )
    on = false
    hook.disable()
    const perOp = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / done]))
    emit({ event: 'count', variant: config.variant, concurrency, ops: done, perOp })
  }
}

/**
 * Replaces mysql2's PoolConnection#query (the copy the library and the baselines share) with an
 * in-process answer on the next turn of the event loop; returns the function that restores it.
 */
function fakeNetwork(): () => void {
  const require = createRequire(import.meta.url)
  // mysql2's exports map hides lib/; an absolute path reaches the same module instance.
  const PoolConnection = require(join(dirname(require.resolve('mysql2')), 'lib', 'pool_connection.js')) as { prototype: { query: unknown } }
  const original = PoolConnection.prototype.query
  const rows = [{ 1: 1 }]
  PoolConnection.prototype.query = function query(this: unknown, _sql: unknown, values: unknown, cb?: unknown) {
    const callback = (typeof values === 'function' ? values : cb) as (err: null, rows: unknown, fields: unknown[]) => void
    setImmediate(callback, null, rows, [])
  }
  return () => {
    PoolConnection.prototype.query = original
  }
}

childMain(async () => {
  const config = childConfig<HotPathConfig>()
  const { op, close } = await setup(config)
  if (config.fakeNetwork) {
    const concurrency = config.concurrencies[0] ?? 16
    await phase(op, concurrency, config.warmupMs) // real connections opened and validated
    const restore = fakeNetwork()
    await phase(op, concurrency, config.warmupMs)
    const line = { event: 'result', variant: config.variant, ...(await measure(op, concurrency, config.durationMs)) }
    restore()
    emit(line)
    return void (await close())
  }
  if (config.persistent) return serve(config, op, close)
  if (config.count) {
    await count(config, op)
    return void (await close())
  }
  for (const concurrency of config.concurrencies) {
    await phase(op, concurrency, config.warmupMs)
    const line: HotPathLine = { event: 'result', variant: config.variant, ...(await measure(op, concurrency, config.durationMs)) }
    emit(line as unknown as Record<string, unknown>)
  }
  await close()
})
