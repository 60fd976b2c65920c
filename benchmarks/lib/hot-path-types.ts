/** Shared between the hot-path orchestrator and its worker processes. */

/** The variants, in the order they are listed in the tables. */
export const VARIANTS = [
  'pool-query-cb',
  'checkout-cb',
  'checkout-ping-cb',
  'pool-query-promise',
  'checkout-promise',
  'als-floor',
  'lifespan-scope',
  'lifespan-implicit',
] as const
export type Variant = (typeof VARIANTS)[number]

export const VARIANT_TITLES: Record<Variant, string> = {
  'pool-query-cb': 'mysql2 `pool.query` (callback)',
  'checkout-cb': 'mysql2 `getConnection` + query + release (callback)',
  'checkout-ping-cb': 'naive safe: `getConnection` + ping + query + release (callback)',
  'pool-query-promise': 'mysql2/promise `pool.query`',
  'checkout-promise': 'mysql2/promise `getConnection` + query + release',
  'als-floor': 'floor of an AsyncLocalStorage scope: `als.run` + scope promise + query promise around callback checkout + query + release',
  'lifespan-scope': 'mysql-lifespan `scope(() => db().query())`',
  'lifespan-implicit': 'mysql-lifespan `db().query()` (implicit scope)',
}

export interface HotPathConfig {
  variant: Variant
  url: string
  pool: number
  concurrencies: number[]
  warmupMs: number
  durationMs: number
  sql?: string
  /** Path of a patched build's index.js to load instead of mysql-lifespan (profiling a proposed change). */
  lib?: string
  /** Serve {@link WorkerCommand}s from stdin instead of running `concurrencies` once. */
  persistent?: boolean
  /** Count the async resources (promises, timers, ticks) created per operation instead of timing. */
  count?: boolean
  /**
   * After the warm-up, answer every query in-process (mysql2's PoolConnection#query replaced by a
   * setImmediate callback): what is left is the CPU cost of the client-side path alone.
   */
  fakeNetwork?: boolean
}

export interface CountLine {
  event: 'count'
  variant: Variant
  concurrency: number
  ops: number
  /** Async resources created per operation, by async_hooks type (PROMISE, Timeout, TickObject, ...). */
  perOp: Record<string, number>
}

/** A command to a persistent worker. */
export type WorkerCommand = { cmd: 'run'; concurrency: number; ms: number } | { cmd: 'exit' }

export interface HotPathLine {
  event: 'result' | 'window'
  variant: Variant
  concurrency: number
  ops: number
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  /** CPU time of this process (user + system) per operation, in µs. */
  cpuUsPerOp: number
  /** Garbage-collection pauses of this process per operation, in µs (PerformanceObserver `gc` entries). */
  gcUsPerOp: number
  errors: number
}
