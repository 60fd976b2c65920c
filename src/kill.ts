/**
 * @module
 * Server-side KILL of connections at a shutdown deadline. mysql2's `destroy()` only closes our
 * socket, and the server notices a vanished client late (a running statement goes on), so a
 * short-lived side connection with the alias's own settings tells the server.
 */
import mysql from 'mysql2'
import type { PoolOptions } from 'mysql2'
import { log } from './log.js'
import type { ResolvedAliasOptions } from './options.js'

// Pool settings mean nothing to a single connection (and mysql2 would warn about them).
const POOL_ONLY = new Set(['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease'])

/**
 * Kills each thread id with `KILL CONNECTION` and returns how many the server killed. Failures
 * (already gone, unreachable) are not counted and otherwise ignored.
 */
export async function killConnections(poolOptions: PoolOptions, threadIds: number[]): Promise<number> {
  const options = Object.fromEntries(Object.entries(poolOptions).filter(([key]) => !POOL_ONLY.has(key))) as mysql.ConnectionOptions
  const conn = mysql.createConnection({ ...options, connectTimeout: Math.min(options.connectTimeout ?? 10_000, 2_000) })
  conn.on('error', () => {})
  let killed = 0
  try {
    for (const id of threadIds) {
      await new Promise<void>((resolve) =>
        conn.query(`KILL CONNECTION ${Number(id)}`, (err) => {
          if (!err) killed++
          resolve()
        }),
      )
    }
    return killed
  } finally {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        conn.destroy()
        resolve()
      }, 1_000)
      conn.end(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}

/**
 * @internal Kills an alias's connections server-side and logs how many the server killed; returns
 * that number, which the shutdown report adds up (so the log lines and `killed` agree).
 */
export async function killAndLog(pool: { alias: string; options: Pick<ResolvedAliasOptions, 'pool' | 'logger'> }, threadIds: number[]): Promise<number> {
  const killed = await killConnections(pool.options.pool, threadIds)
  log(pool.options.logger, 'warn', { alias: pool.alias, killed, requested: threadIds.length }, 'connections killed server-side')
  return killed
}
