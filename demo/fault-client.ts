/**
 * A client process for fault scenarios. It warms a pool, prints the server thread ids it holds,
 * waits for the parent's "go" line, then blocks its own event loop for `blockMs` (as a
 * CPU-heavy request would) while the parent injects a fault, then fires `queries` reads at once
 * and reports what happened to each: ok, failed (with code), or hung.
 *
 * Run as: node fault-client.js '<json ClientConfig>'. Output: one JSON line per event.
 * This file's clients are plain mysql2 and mysql-lifespan; the benchmarks add peers through
 * {@link runFaultClient}.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import mysql from 'mysql2'
import { createLifespan } from 'mysql-lifespan'

/** What the parent asks for. */
export interface ClientConfig {
  mode: string
  url: string
  pool: number
  queries: number
  blockMs: number
  /** A call not settled after this long counts as hung. */
  hangMs: number
  /** The read fired after the fault; carries `probe_<mode>` so the proxy can match it. */
  sql: string
  /**
   * The block also lasts until this file exists: the parent creates it once the fault is in
   * place, so a fault that takes long on a loaded machine still lands inside every block.
   */
  releaseFile?: string
}

/** One read fired after the fault: when it started and settled, from the moment the reads were fired. */
export interface RequestRecord {
  startMs: number
  /** null when it had not settled after `hangMs`. */
  endMs: number | null
  outcome: 'ok' | 'failed' | 'hung'
  /** The error code of a failed read. */
  code?: string
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
  /** Every read, in the order fired (the demo draws them as a timeline). */
  requests: RequestRecord[]
}

/** A pool under test. */
export interface FaultClient {
  /** Runs one statement. */
  run(sql: string): Promise<unknown>
  /** Opens `pool` connections at once and returns their server thread ids. */
  warm(): Promise<number[]>
  close(): Promise<unknown>
}

/** The read that reports its connection, run `pool` times at once to open every connection. */
export const WARM_SQL = 'SELECT CONNECTION_ID() AS id, SLEEP(0.05) AS s'

function emit(event: object): void {
  // Pipes are synchronous on Linux: the line is out before the loop blocks.
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

function block(ms: number, releaseFile: string | undefined): void {
  const end = Date.now() + ms
  // Never longer than a minute, whatever happens to the parent.
  const cap = Date.now() + 60_000
  while (Date.now() < end || (releaseFile !== undefined && !existsSync(releaseFile) && Date.now() < cap)) {
    // a busy event loop: socket events queue up unread
  }
}

function defaultCode(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? 'NO_CODE')
}

/** The client side of the protocol, for any pool: warm, wait for "go", block, fire, report, exit. */
export async function runFaultClient(config: ClientConfig, client: FaultClient, codeOf = defaultCode): Promise<void> {
  emit({ event: 'warm', ids: await client.warm() })
  // The parent releases every client at once and injects the fault right after, so the fault
  // lands while every loop is blocked however long each took to warm.
  await new Promise((resolve) => process.stdin.once('data', resolve))
  // Out before the loop blocks (a synchronous pipe write): the parent injects the fault only then.
  emit({ event: 'blocking' })
  block(config.blockMs, config.releaseFile)

  const start = Date.now()
  const result: ClientResult = { ok: 0, failed: 0, hung: 0, codes: {}, firstSuccessMs: null, lastSettledMs: null, requests: [] }
  await Promise.all(
    Array.from({ length: config.queries }, async (_, i) => {
      const startMs = Date.now() - start
      const outcome = await Promise.race([
        client.run(config.sql).then(() => 'ok' as const, codeOf),
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), config.hangMs).unref()),
      ])
      if (outcome === 'hung') {
        result.hung++
        result.requests[i] = { startMs, endMs: null, outcome: 'hung' }
        return
      }
      const elapsed = Date.now() - start
      result.lastSettledMs = Math.max(result.lastSettledMs ?? 0, elapsed)
      if (outcome === 'ok') {
        result.ok++
        result.firstSuccessMs = Math.min(result.firstSuccessMs ?? elapsed, elapsed)
        result.requests[i] = { startMs, endMs: elapsed, outcome: 'ok' }
      } else {
        result.failed++
        result.codes[outcome] = (result.codes[outcome] ?? 0) + 1
        result.requests[i] = { startMs, endMs: elapsed, outcome: 'failed', code: outcome }
      }
    }),
  )
  emit({ event: 'result', ...result })
  await Promise.race([client.close().catch(() => {}), new Promise((r) => setTimeout(r, 1_500).unref())])
  // A hung plain pool keeps sockets open forever; this is a throwaway test client.
  process.exit(0)
}

/** Runs `main` as the process's entry, reporting a failure on the protocol. */
export function clientMain(main: (config: ClientConfig) => Promise<void>): void {
  main(JSON.parse(process.argv[2] ?? '{}') as ClientConfig).catch((err: unknown) => {
    emit({ event: 'error', message: String((err as Error)?.stack ?? err) })
    process.exit(1)
  })
}

async function makeClient(config: ClientConfig): Promise<FaultClient> {
  const warmIds = async (run: (sql: string) => Promise<unknown>): Promise<number[]> => {
    const all = (await Promise.all(Array.from({ length: config.pool }, () => run(WARM_SQL)))) as Array<[Array<{ id: number }>]>
    return all.map(([rows]) => Number(rows[0]?.id))
  }
  if (config.mode === 'plain') {
    const pool = mysql.createPool({ uri: config.url, connectionLimit: config.pool }).promise()
    const run = (sql: string): Promise<unknown> => pool.query(sql)
    return { run, warm: () => warmIds(run), close: () => pool.end() }
  }
  const lifespan = createLifespan({
    databases: { default: `${config.url}${config.url.includes('?') ? '&' : '?'}connectionLimit=${config.pool}` },
    shutdownTimeoutMs: 1_000,
  })
  await lifespan.startup()
  const run = (sql: string): Promise<unknown> => lifespan.scope(() => lifespan.db().query(sql))
  return { run, warm: () => warmIds(run), close: () => lifespan.shutdown() }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) clientMain(async (config) => runFaultClient(config, await makeClient(config)))
