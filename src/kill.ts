/**
 * @module
 * Server-side KILL from a short-lived side connection: `KILL CONNECTION` at a shutdown deadline,
 * `KILL QUERY` when a statement outlives `queryTimeoutMs`. mysql2's `destroy()` only closes our
 * socket, and the server notices a vanished client late (a running statement goes on), so the
 * server has to be told. The side connection uses the alias's own settings.
 */
import mysql from 'mysql2'
import type { PoolOptions } from 'mysql2'

// Pool settings mean nothing to a single connection (and mysql2 would warn about them).
const POOL_ONLY = new Set(['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease'])

/**
 * Sends `KILL CONNECTION` (or `KILL QUERY`) for each thread id. Resolves to the ids the server
 * accepted; failures (already gone, unreachable) are left out.
 */
export async function killOnServer(poolOptions: PoolOptions, threadIds: number[], what: 'CONNECTION' | 'QUERY' = 'CONNECTION'): Promise<number[]> {
  const options = Object.fromEntries(Object.entries(poolOptions).filter(([key]) => !POOL_ONLY.has(key))) as mysql.ConnectionOptions
  const conn = mysql.createConnection({ ...options, connectTimeout: Math.min(options.connectTimeout ?? 10_000, 2_000) })
  conn.on('error', () => {})
  const killed: number[] = []
  try {
    for (const id of threadIds) {
      const ok = await new Promise<boolean>((resolve) => conn.query(`KILL ${what} ${Number(id)}`, (err) => resolve(!err)))
      if (ok) killed.push(id)
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
  return killed
}

/** `KILL CONNECTION` for each thread id (the shutdown deadline); failures are ignored. */
export async function killConnections(poolOptions: PoolOptions, threadIds: number[]): Promise<void> {
  await killOnServer(poolOptions, threadIds, 'CONNECTION')
}
