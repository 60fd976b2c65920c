/**
 * @module
 * Server-side KILL from a short-lived side connection: `KILL CONNECTION` at a shutdown deadline,
 * `KILL QUERY` when a statement outlives `queryTimeoutMs`. mysql2's `destroy()` only closes our
 * socket, and the server notices a vanished client late (a running statement goes on), so the
 * server has to be told. The side connection uses the alias's own settings.
 */
import mysql from 'mysql2'
import type { PoolOptions } from 'mysql2'
import { closeNow } from './close-now.js'
import { log } from './log.js'
import type { ResolvedAliasOptions } from './options.js'

// Pool settings mean nothing to a single connection (and mysql2 would warn about them).
const POOL_ONLY = new Set(['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease'])
/** Bounds the side connection's connect and each KILL on it: a path that stalls must not hold the KILLs waiting behind it. */
const SIDE_TIMEOUT_MS = 2_000
/** How long `end()` may wait for the server to close the side connection before it is destroyed. */
const SIDE_END_MS = 1_000

/**
 * Sends `KILL CONNECTION` (or `KILL QUERY`) for each thread id and returns how many the server
 * accepted. Failures (already gone, unreachable) are not counted and otherwise ignored. It settles
 * within a few seconds whatever the path does: a KILL without a reply within {@link SIDE_TIMEOUT_MS}
 * (a path that stalled after the handshake) ends the batch and the side connection is destroyed.
 */
export async function killOnServer(poolOptions: PoolOptions, threadIds: number[], what: 'CONNECTION' | 'QUERY' = 'CONNECTION'): Promise<number> {
  const options = Object.fromEntries(Object.entries(poolOptions).filter(([key]) => !POOL_ONLY.has(key))) as mysql.ConnectionOptions
  const conn = mysql.createConnection({ ...options, connectTimeout: Math.min(options.connectTimeout ?? 10_000, SIDE_TIMEOUT_MS) })
  conn.on('error', () => {})
  let killed = 0
  let usable = true
  try {
    for (const id of threadIds) {
      const err = await new Promise<{ fatal?: boolean; code?: string } | null>((resolve) =>
        conn.query({ sql: `KILL ${what} ${Number(id)}`, timeout: SIDE_TIMEOUT_MS }, (e) => resolve(e)),
      )
      if (!err) killed++
      // A timed-out KILL stays mysql2's current command (what is queued behind it never starts),
      // and a fatal error closed the connection: either way nothing more goes through it.
      else if (err.fatal || err.code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
        usable = false
        break
      }
    }
    return killed
  } finally {
    if (!usable) closeNow(conn)
    else
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          closeNow(conn)
          resolve()
        }, SIDE_END_MS)
        conn.end(() => {
          clearTimeout(timer)
          resolve()
        })
      })
  }
}

/**
 * @internal `KILL QUERY` for statements past `queryTimeoutMs`, one side connection at a time per
 * pool: ids that come in while one is out wait and go together in the next, so a burst of timeouts
 * (a stalled path, an overloaded server) costs one extra connection, not one per statement.
 */
export class QueryKiller {
  readonly #poolOptions: PoolOptions
  #pending: Array<{ id: number; done: () => void }> = []
  #running = false

  constructor(poolOptions: PoolOptions) {
    this.#poolOptions = poolOptions
  }

  /** Resolves once a `KILL QUERY` for `threadId` was attempted, whatever came of it. */
  kill(threadId: number): Promise<void> {
    return new Promise((resolve) => {
      this.#pending.push({ id: threadId, done: resolve })
      if (!this.#running) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#running = true
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0)
      await killOnServer(this.#poolOptions, batch.map((b) => b.id), 'QUERY').catch(() => 0)
      for (const b of batch) b.done()
    }
    this.#running = false
  }
}

/**
 * @internal Kills an alias's connections server-side and logs how many the server killed; returns
 * that number, which the shutdown report adds up (so the log lines and `killed` agree).
 */
export async function killAndLog(pool: { alias: string; options: Pick<ResolvedAliasOptions, 'pool' | 'logger'> }, threadIds: number[]): Promise<number> {
  const killed = await killOnServer(pool.options.pool, threadIds, 'CONNECTION')
  log(pool.options.logger, 'warn', { alias: pool.alias, killed, requested: threadIds.length }, 'connections killed server-side')
  return killed
}
