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

/**
 * Server threads (other than the asking one) whose statement text contains `marker`, asked again
 * every 50 ms until none is left or `withinMs` passed; returns the last count (`withinMs` 0: one
 * look). The server sends a stopped statement's error before its thread leaves the processlist, and
 * a killed connection's thread lingers there until it exits, so one look right after can still see
 * it on a loaded machine. Keep `withinMs` well under the statement's own duration: one that was not
 * stopped then still counts.
 */
export async function runningAfter(marker: string, withinMs: number, url = mysqlUrl()): Promise<number> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const rows = await admin<Array<{ n: number }>>(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE ?',
      [`%${marker}%`],
      url,
    )
    const n = Number(rows[0]!.n)
    if (n === 0 || Date.now() >= deadline) return n
    await sleep(50)
  }
}

/**
 * Those of `ids` (server thread ids) still in the processlist, asked again every 50 ms until none
 * is or `withinMs` passed. A closed or killed connection's thread leaves the processlist shortly
 * after the client saw it go; a connection left open stays, so the count still tells.
 */
export async function connectedAfter(ids: Iterable<number>, withinMs: number, url = mysqlUrl()): Promise<number[]> {
  const wanted = [...ids]
  const deadline = Date.now() + withinMs
  for (;;) {
    const left = new Set(await serverConnectionIds(url))
    const still = wanted.filter((id) => left.has(id))
    if (still.length === 0 || Date.now() >= deadline) return still
    await sleep(50)
  }
}

/** A table name unique to this test run. */
export function tableName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
