/**
 * A client process for fault scenarios. It warms a pool (plain mysql2 or mysql-lifespan),
 * prints the server thread ids it holds, then blocks its own event loop for `blockMs`
 * (as a CPU-heavy request would) while the parent process injects a fault, then fires
 * `queries` reads at once and reports what happened to each: ok, failed (with code), or hung.
 *
 * Run as: node fault-client.js '<json ClientConfig>'. Output: one JSON line per event.
 */
import mysql from 'mysql2'
import { createLifespan } from 'mysql-lifespan'

/** What the parent asks for. */
export interface ClientConfig {
  mode: 'plain' | 'lifespan'
  url: string
  pool: number
  queries: number
  blockMs: number
  /** A call not settled after this long counts as hung. */
  hangMs: number
  /** The read fired after the fault; contains "probe" so a proxy can match it. */
  sql?: string
  lifespan?: { pingTimeoutMs?: number; acquireTimeoutMs?: number; aliveBypassMs?: number }
}

/** What the client reports. */
export interface ClientResult {
  ok: number
  failed: number
  hung: number
  codes: Record<string, number>
  /** From the end of the block to the first success / to the last call settling, ms. */
  firstSuccessMs: number | null
  lastSettledMs: number | null
}

function emit(event: object): void {
  // Pipes are synchronous on Linux: the line is out before the loop blocks.
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

function block(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // a busy event loop: socket events queue up unread
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ClientConfig
  const sql = config.sql ?? 'SELECT 1 AS probe'
  let run: (sql: string) => Promise<unknown>
  let close: () => Promise<unknown>

  if (config.mode === 'plain') {
    const pool = mysql.createPool({ uri: config.url, connectionLimit: config.pool }).promise()
    run = (s) => pool.query(s)
    close = () => pool.end()
  } else {
    const lifespan = createLifespan({
      databases: { default: `${config.url}${config.url.includes('?') ? '&' : '?'}connectionLimit=${config.pool}` },
      shutdownTimeoutMs: 1_000,
      ...config.lifespan,
    })
    await lifespan.startup()
    run = (s) => lifespan.scope(() => lifespan.db().query(s))
    close = () => lifespan.shutdown()
  }

  const warm = await Promise.all(
    Array.from({ length: config.pool }, () => run('SELECT CONNECTION_ID() AS id, SLEEP(0.05) AS s') as Promise<[Array<{ id: number }>]>),
  )
  emit({ event: 'warm', ids: warm.map(([rows]) => Number(rows[0]?.id)) })
  block(config.blockMs)

  const start = Date.now()
  const result: ClientResult = { ok: 0, failed: 0, hung: 0, codes: {}, firstSuccessMs: null, lastSettledMs: null }
  await Promise.all(
    Array.from({ length: config.queries }, async () => {
      const outcome = await Promise.race([
        run(sql).then(
          () => 'ok' as const,
          (err: { code?: unknown }) => String(err?.code ?? 'NO_CODE'),
        ),
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), config.hangMs).unref()),
      ])
      if (outcome === 'hung') {
        result.hung++
        return
      }
      const elapsed = Date.now() - start
      result.lastSettledMs = Math.max(result.lastSettledMs ?? 0, elapsed)
      if (outcome === 'ok') {
        result.ok++
        result.firstSuccessMs = Math.min(result.firstSuccessMs ?? elapsed, elapsed)
      } else {
        result.failed++
        result.codes[outcome] = (result.codes[outcome] ?? 0) + 1
      }
    }),
  )
  emit({ event: 'result', ...result })
  await Promise.race([close().catch(() => {}), new Promise((r) => setTimeout(r, 1_500).unref())])
  // A hung plain pool keeps sockets open forever; this is a throwaway test client.
  process.exit(0)
}

main().catch((err: unknown) => {
  emit({ event: 'error', message: String((err as Error)?.message ?? err), code: (err as { code?: unknown })?.code })
  process.exit(1)
})
