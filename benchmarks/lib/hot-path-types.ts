/** Shared between the hot-path orchestrator and its worker processes. */

/** The variants, in the order they are listed in the tables. */
export const VARIANTS = [
  'pool-query-cb',
  'checkout-cb',
  'checkout-ping-cb',
  'pool-query-promise',
  'checkout-promise',
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
}

export interface HotPathLine {
  event: 'result'
  variant: Variant
  concurrency: number
  ops: number
  opsPerSec: number
  p50Ms: number
  p99Ms: number
  /** CPU time of this process (user + system) per operation, in µs. */
  cpuUsPerOp: number
  errors: number
}
