/**
 * Shared helpers of the integration tests: the server URL handed over by the global
 * setup, lifespans that are always shut down after each test, an admin connection.
 */
import mysql from 'mysql2/promise'
import { afterEach, inject } from 'vitest'
import { createLifespan, type Lifespan, type LifespanOptions } from '../../src/index.js'

/** URL of the shared test server (MYSQL_URL, or a testcontainers MySQL). */
export function mysqlUrl(): string {
  return inject('mysqlUrl')
}

const open = new Set<Lifespan>()

afterEach(async () => {
  const all = [...open]
  open.clear()
  await Promise.all(all.map((l) => l.shutdown({ timeoutMs: 2_000 }).catch(() => l.destroy())))
})

/** A lifespan on `url` (default: the shared server) that is shut down after the test. */
export function lifespanFor(options: Partial<LifespanOptions> & { url?: string } = {}): Lifespan {
  const { url, databases, ...rest } = options
  const lifespan = createLifespan({ databases: databases ?? { default: url ?? mysqlUrl() }, ...rest })
  open.add(lifespan)
  return lifespan
}

/** Runs one statement on a short-lived admin connection. */
export async function admin<T = unknown>(sql: string, values?: unknown[], url = mysqlUrl()): Promise<T> {
  const conn = await mysql.createConnection({ uri: url })
  try {
    const [rows] = await conn.query(sql, values)
    return rows as T
  } finally {
    await conn.end()
  }
}

/** Blocks the event loop, as a CPU-heavy request would, while the server acts on its sockets. */
export function blockEventLoop(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // spin
  }
}

/** Server-side ids of the connections of `user`@`db` other than the caller's. */
export async function serverConnectionIds(url = mysqlUrl()): Promise<number[]> {
  const rows = await admin<Array<{ id: number }>>(
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND <> "Daemon"',
    [],
    url,
  )
  return rows.map((r) => Number(r.id))
}

/** A table name unique to this test run. */
export function tableName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
