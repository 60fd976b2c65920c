/**
 * @module
 * The part of mysql-lifespan's public surface the soak uses, as structural types. The soak
 * never imports the library itself: the CLI hands it `createLifespan` from the built package
 * (`mysql-lifespan`, i.e. dist) and the vitest run hands it the one from src, so the same soak
 * code checks either form. (Importing the class types would not work for both: a class with
 * private fields is only assignable to its own declaration.)
 */

/** A statement target: `db()` or a transaction handle. */
export interface QueryableLike {
  query<T = unknown>(sql: string, values?: unknown, options?: { idempotent?: boolean }): Promise<[T, unknown]>
  execute<T = unknown>(sql: string, values?: unknown, options?: { idempotent?: boolean }): Promise<[T, unknown]>
}

/** `lifespan.db()`. */
export interface DatabaseLike extends QueryableLike {
  transaction<T>(fn: (tx: QueryableLike) => Promise<T>, options?: { retries?: number }): Promise<T>
}

/** The per-alias counters of `stats()` the summary shows. */
export interface AliasStatsLike {
  open: number
  idle: number
  inUse: number
  waiting: number
  created: number
  destroyed: Record<string, number>
  validations: number
  pings: number
  pingFailures: number
  retries: number
  acquireTimeouts: number
}

/** What `shutdown()` resolves to. */
export interface ShutdownReportLike {
  clean: boolean
  interrupted: number
  killed: number
  durationMs: number
}

/** A lifespan, as far as the soak is concerned. */
export interface LifespanLike {
  startup(): Promise<void>
  scope<T>(fn: () => Promise<T>): Promise<T>
  db(): DatabaseLike
  stats(): { state: string; activeScopes: number; aliases: Record<string, AliasStatsLike> }
  shutdown(options?: { timeoutMs?: number }): Promise<ShutdownReportLike>
  destroy(): Promise<void>
}

/** The options the soak passes to `createLifespan`. */
export interface SoakLifespanOptions {
  databases: Record<string, string>
  queryTimeoutMs?: number
  maxAgeMs?: number
  acquireTimeoutMs?: number
  shutdownTimeoutMs?: number
}

/** `createLifespan`, from dist or from src. */
export type CreateLifespan = (options: SoakLifespanOptions) => LifespanLike
