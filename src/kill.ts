/**
 * @module
 * Server-side KILL of connections at a shutdown deadline. mysql2's `destroy()` only closes our
 * socket, and the server notices a vanished client late (a running statement goes on), so a
 * short-lived side connection with the alias's own settings tells the server.
 */
import mysql from 'mysql2'
import type { PoolOptions } from 'mysql2'

// Pool settings mean nothing to a single connection (and mysql2 would warn about them).
const POOL_ONLY = new Set(['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease'])

/**
 * Kills each thread id with `KILL CONNECTION` (or only its running statement with `KILL QUERY`);
 * failures (already gone, unreachable) are ignored.
 */
export async function killConnections(poolOptions: PoolOptions, threadIds: number[], what: 'CONNECTION' | 'QUERY' = 'CONNECTION'): Promise<void> {
  const options = Object.fromEntries(Object.entries(poolOptions).filter(([key]) => !POOL_ONLY.has(key))) as mysql.ConnectionOptions
  const conn = mysql.createConnection({ ...options, connectTimeout: Math.min(options.connectTimeout ?? 10_000, 2_000) })
  conn.on('error', () => {})
  try {
    for (const id of threadIds) {
      await new Promise<void>((resolve) => conn.query(`KILL ${what} ${Number(id)}`, () => resolve()))
    }
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
