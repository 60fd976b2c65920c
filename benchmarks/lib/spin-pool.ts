/**
 * The paired ORM measure's sensitivity control (orm.ts): Kysely's own mysql2 pool behind a
 * pass-through wrapper that spends a fixed amount of CPU on every `getConnection`, and nothing
 * else. The row it makes shows what a known, small cost per checkout does to the measure on
 * the machine it runs on, next to what mysql-lifespan's checkout does to it.
 */
import type { MysqlPool } from 'kysely'
import type { Pool } from 'mysql2'

/** Iterations of {@link burn}'s loop that take `ns` nanoseconds here, measured once. */
function iterationsFor(ns: number): number {
  const probe = 5_000_000
  const started = process.hrtime.bigint()
  burn(probe)
  const perIteration = Number(process.hrtime.bigint() - started) / probe
  return Math.max(1, Math.round(ns / perIteration))
}

let sink = 0

/** A loop of integer arithmetic: CPU time without allocation, clock reads or system calls. */
function burn(iterations: number): void {
  let x = sink
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0
  sink = x
}

/** `pool` as Kysely's `MysqlPool`, spending about `ns` nanoseconds of CPU before each `getConnection`. */
export function spinningPool(pool: Pool, ns: number): MysqlPool {
  // Warm the loop up before it is timed, so the count is not measured on unoptimized code.
  burn(1_000_000)
  const iterations = iterationsFor(ns)
  return {
    getConnection(callback) {
      burn(iterations)
      pool.getConnection(callback as Parameters<Pool['getConnection']>[0])
    },
    end(callback) {
      pool.end(callback)
    },
  }
}
