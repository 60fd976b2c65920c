/**
 * What the ORM overhead workers (orm-worker.ts, orm-paired-worker.ts) share: the timed read loop
 * and the process entry point.
 */
import type { ToolApi, ToolName } from '../../test/orm/support/tools.js'

/** What both workers are told: the tool, where its rows are, the pool and the load. */
export interface ReadsConfig {
  tool: ToolName
  url: string
  table: string
  /** Rows `1..rows` exist in `table`. */
  rows: number
  /** Connections: the tool's own pool or the alias's `connectionLimit`. */
  pool: number
  concurrency: number
  warmupMs: number
  windowMs: number
}

/** Reads one row by a random id in `1..rows` through the tool's query API; rejects when it is missing. */
export async function readRandomRow(api: ToolApi, rows: number): Promise<void> {
  const v = await api.byId(1 + Math.floor(Math.random() * rows))
  if (v === undefined) throw new Error('row not found')
}

/** Reads three rows by random ids, one after the other (a request's queries); resolves to 3. */
export async function readThreeRows(api: ToolApi, rows: number): Promise<number> {
  for (let i = 0; i < 3; i++) await readRandomRow(api, rows)
  return 3
}

/**
 * Runs `unit` back to back on `concurrency` lanes until `ms` have passed; resolves to the sum of
 * what the units resolved to (the reads each made).
 */
export async function readFor(ms: number, concurrency: number, unit: () => Promise<number>): Promise<number> {
  const end = Date.now() + ms
  let reads = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        // Not `reads += await unit()`: that reads `reads` before the await and loses the other lanes' counts.
        const n = await unit()
        reads += n
      }
    }),
  )
  return reads
}

/** Runs a worker's `main` with the JSON config in `argv[2]`; a failure prints an `error` line and exits 1. */
export function runWorker<C>(main: (config: C) => Promise<void>): void {
  main(JSON.parse(process.argv[2] ?? '{}') as C).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stdout.write(`${JSON.stringify({ event: 'error', message: String((err as Error)?.stack ?? err) })}\n`)
      process.exit(1)
    },
  )
}
