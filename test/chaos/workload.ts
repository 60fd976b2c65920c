/**
 * @module
 * The soak's workload: `concurrency` loops, each running one operation per scope, forever
 * until stopped. Operations (weights in parentheses):
 *
 * - `read-sum` (10): `SUM(balance)` of every account. One statement sees one snapshot, so every
 *   successful read must show the invariant total: a half-applied transfer would show here.
 * - `read-point` (20): one account's balance (text protocol or prepared, at random).
 * - `read-lookup` (10): an insert acknowledged earlier must be found exactly once.
 * - `insert` (30): an autocommit insert with a client-generated number; 1 in 32 violates a
 *   CHECK constraint (must fail, outcome known). A third of the others read their row back in
 *   the same scope (must see it exactly once).
 * - `transfer` (25): move an amount between two accounts and log it, in one transaction with
 *   `{ retries: 3 }`; most lock both rows first, some do not (deadlocks, re-run whole).
 * - `upsert` (5): an insert marked `{ idempotent: true }` into a table keyed by the number,
 *   which the library may re-run after a disconnect.
 *
 * Every failure is tallied by operation and error code, and classified as a known or an
 * unknown outcome (see {@link writeOutcome}) in the ledgers the verifier checks.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { Ledger, Outcome, params } from './ledger.js'
import type { LifespanLike } from './types.js'

export const OP_KINDS = ['read-sum', 'read-point', 'read-lookup', 'insert', 'transfer', 'upsert'] as const
export type OpKind = (typeof OP_KINDS)[number]
const WEIGHTS: Record<OpKind, number> = { 'read-sum': 10, 'read-point': 20, 'read-lookup': 10, insert: 30, transfer: 25, upsert: 5 }

/** Per operation kind: how many ran, succeeded, failed with a known or an unknown outcome. */
export interface OpCounts {
  ok: number
  knownFailed: number
  unknownFailed: number
}

export interface WorkloadOptions {
  lifespan: LifespanLike
  runId: string
  seed: number
  accounts: number
  total: number
  concurrency: number
  /** Pause after each operation, ms (0: none). */
  thinkMs: number
}

/** Codes of errors that mean nothing reached the server: the write was certainly not applied. */
const NOTHING_SENT = new Set(['ERR_LIFESPAN_ACQUIRE_TIMEOUT', 'ERR_LIFESPAN_SHUTTING_DOWN', 'ERR_LIFESPAN_STOPPED'])
/** Server errnos that come with (or instead of) a dropped connection: what ran is not known. */
const DISCONNECT_ERRNOS = new Set([1053, 1158, 1159, 1160, 1161, 1927, 2006, 2013, 2055, 4031])

interface ErrorShape {
  code?: unknown
  errno?: unknown
  sqlState?: unknown
  fatal?: unknown
  message?: unknown
  name?: unknown
}

/**
 * Known or unknown outcome of a failed autocommit write, by the contract: nothing was sent
 * (acquisition timed out, the lifespan refused the scope), or the server answered the
 * statement itself with an error (it was not applied), is known. Anything else (a disconnect,
 * a query timeout, an interrupted scope) may have happened after the statement ran: unknown.
 */
export function writeOutcome(error: unknown): 'known' | 'unknown' {
  const e = (error ?? {}) as ErrorShape
  if (typeof e.code === 'string' && NOTHING_SENT.has(e.code)) return 'known'
  const refused = typeof e.errno === 'number' && e.errno > 0 && typeof e.sqlState === 'string' && e.fatal !== true
  if (refused && !DISCONNECT_ERRNOS.has(e.errno as number)) return 'known'
  return 'unknown'
}

/**
 * Known or unknown outcome of a failed transaction: only a connection lost during COMMIT
 * (which the library must surface as ERR_LIFESPAN_COMMIT_OUTCOME_UNKNOWN) or a scope stopped
 * from outside leaves it open. A transaction that failed before COMMIT was sent cannot have
 * been applied: the server rolls back what it never saw committed.
 */
export function transactionOutcome(error: unknown): 'known' | 'unknown' {
  const code = (error as ErrorShape | null)?.code
  return code === 'ERR_LIFESPAN_COMMIT_OUTCOME_UNKNOWN' || code === 'ERR_LIFESPAN_SCOPE_INTERRUPTED' ? 'unknown' : 'known'
}

/** The code an error is tallied under. */
export function codeOf(error: unknown): string {
  const e = (error ?? {}) as ErrorShape
  if (typeof e.code === 'string') return typeof e.errno === 'number' && e.errno > 0 ? `${e.code} (errno ${e.errno})` : e.code
  if (typeof e.code === 'number') return `code ${e.code} (number)`
  if (typeof e.errno === 'number') return `errno ${e.errno}`
  return `(no code) ${String(e.name ?? typeof error)}`
}

const INSERT_SQL = /^INSERT INTO chaos_writes \(run_id, n, via, amount\) VALUES \('([0-9a-f]+)', (\d+),/
const UPSERT_SQL = /^INSERT INTO chaos_idem \(run_id, n\) VALUES \('([0-9a-f]+)', (\d+)\)/

const sumOf = (rows: unknown): number => Number((rows as Array<{ total: unknown }>)[0]?.total)
const countOf = (rows: unknown): number => Number((rows as Array<{ c: unknown }>)[0]?.c)

/** The workload; see the module comment. */
export class Workload {
  readonly inserts = new Ledger()
  readonly transfers = new Ledger()
  readonly upserts = new Ledger()
  readonly ops = new Map<OpKind, OpCounts>(OP_KINDS.map((kind) => [kind, { ok: 0, knownFailed: 0, unknownFailed: 0 }]))
  /** `op<TAB>code` → count. */
  readonly errors = new Map<string, number>()
  /** Online check failures, by name; `samples` keeps the first few messages. */
  readonly anomalies = new Map<string, number>()
  readonly samples: string[] = []
  /** Errors without a string `code` (the contract says every library error has one). */
  readonly uncoded: string[] = []
  /** Read-backs of a fresh insert in its own scope: done, and failed (a fault in between; not an anomaly). */
  readonly readbacks = { done: 0, failed: 0 }
  /** Transfer attempts beyond the first (the library re-ran the whole transaction). */
  transferReruns = 0
  maxLatencyMs = 0
  #options: WorkloadOptions
  #stopping = false
  #workers: Promise<void>[] = []
  #inflight = new Map<number, { kind: OpKind; started: number }>()
  #opSeq = 0
  #pickTable: OpKind[]

  constructor(options: WorkloadOptions) {
    this.#options = options
    this.#pickTable = OP_KINDS.flatMap((kind) => Array<OpKind>(WEIGHTS[kind]).fill(kind))
  }

  /**
   * Sees every text-protocol statement that reaches the fault proxy (the proxy calls its
   * matchers for each COM_QUERY). Counts how often each insert and upsert was sent: the
   * library must never send a non-idempotent insert twice, whatever happened to the first
   * copy; re-sending an idempotent upsert is allowed. Prepared statements (COM_STMT_EXECUTE)
   * carry no SQL text and are not seen.
   */
  observe(sql: string): void {
    const insert = INSERT_SQL.exec(sql)
    if (insert) {
      if (insert[1] === this.#options.runId) this.inserts.sent(Number(insert[2]))
      return
    }
    const upsert = UPSERT_SQL.exec(sql)
    if (upsert && upsert[1] === this.#options.runId) this.upserts.sent(Number(upsert[2]))
  }

  /** Operations completed so far. */
  get completed(): number {
    let total = 0
    for (const c of this.ops.values()) total += c.ok + c.knownFailed + c.unknownFailed
    return total
  }

  start(): void {
    for (let i = 0; i < this.#options.concurrency; i++) this.#workers.push(this.#loop())
  }

  /** Stops the loops and waits up to `deadlineMs` for the operations in flight; returns those still running (hung). */
  async stop(deadlineMs: number): Promise<Array<{ kind: OpKind; runningMs: number }>> {
    this.#stopping = true
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(this.#workers), new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs)))])
    clearTimeout(timer)
    const now = performance.now()
    return [...this.#inflight.values()].map(({ kind, started }) => ({ kind, runningMs: Math.round(now - started) }))
  }

  /** Operations running longer than `ms` right now. */
  slowerThan(ms: number): number {
    const now = performance.now()
    let slow = 0
    for (const { started } of this.#inflight.values()) if (now - started > ms) slow++
    return slow
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      const kind = this.#pickTable[Math.floor(Math.random() * this.#pickTable.length)] as OpKind
      const id = this.#opSeq++
      const started = performance.now()
      this.#inflight.set(id, { kind, started })
      try {
        await this.#run(kind)
      } catch (error) {
        // Each operation records its own failures; reaching here is a bug of the soak itself.
        this.#anomaly('soak-internal-error', `${kind}: ${(error as Error)?.stack ?? String(error)}`)
      } finally {
        this.#inflight.delete(id)
        this.maxLatencyMs = Math.max(this.maxLatencyMs, performance.now() - started)
      }
      if (this.#options.thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * this.#options.thinkMs * 2))
      else await yieldToLoop()
    }
  }

  #run(kind: OpKind): Promise<void> {
    switch (kind) {
      case 'read-sum':
        return this.#readSum()
      case 'read-point':
        return this.#readPoint()
      case 'read-lookup':
        return this.#readLookup()
      case 'insert':
        return this.#insert()
      case 'transfer':
        return this.#transfer()
      case 'upsert':
        return this.#upsert()
    }
  }

  #count(kind: OpKind, result: keyof OpCounts): void {
    const counts = this.ops.get(kind) as OpCounts
    counts[result]++
  }

  #error(kind: string, error: unknown): void {
    const code = codeOf(error)
    const key = `${kind}\t${code}`
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1)
    if (typeof (error as ErrorShape | null)?.code !== 'string' && this.uncoded.length < 10) {
      this.uncoded.push(`${kind}: ${String((error as ErrorShape | null)?.message ?? error)}`)
    }
  }

  #anomaly(name: string, message: string): void {
    this.anomalies.set(name, (this.anomalies.get(name) ?? 0) + 1)
    if (this.samples.length < 20) this.samples.push(`${name}: ${message}`)
  }

  async #read(kind: OpKind, work: () => Promise<void>): Promise<void> {
    try {
      await this.#options.lifespan.scope(work)
      this.#count(kind, 'ok')
    } catch (error) {
      this.#error(kind, error)
      this.#count(kind, 'knownFailed')
    }
  }

  #readSum(): Promise<void> {
    return this.#read('read-sum', async () => {
      const [rows] = await this.#options.lifespan.db().query('SELECT SUM(balance) AS total FROM chaos_accounts')
      const total = sumOf(rows)
      if (total !== this.#options.total) this.#anomaly('sum-mismatch', `SUM(balance) = ${total}, expected ${this.#options.total}`)
    })
  }

  #readPoint(): Promise<void> {
    return this.#read('read-point', async () => {
      const id = 1 + Math.floor(Math.random() * this.#options.accounts)
      const db = this.#options.lifespan.db()
      const sql = 'SELECT balance FROM chaos_accounts WHERE id = ?'
      const [rows] = Math.random() < 0.5 ? await db.query(sql, [id]) : await db.execute(sql, [id])
      if ((rows as unknown[]).length !== 1) this.#anomaly('account-missing', `account ${id} returned ${(rows as unknown[]).length} rows`)
    })
  }

  #readLookup(): Promise<void> {
    const n = this.inserts.sample(Outcome.ACKED)
    if (n === undefined) return this.#readPoint()
    return this.#read('read-lookup', async () => {
      const [rows] = await this.#options.lifespan
        .db()
        .query('SELECT COUNT(*) AS c FROM chaos_writes WHERE run_id = ? AND n = ?', [this.#options.runId, n])
      const c = countOf(rows)
      if (c !== 1) this.#anomaly(c === 0 ? 'acked-insert-not-found' : 'acked-insert-duplicated', `insert ${n} found ${c} times`)
    })
  }

  async #insert(): Promise<void> {
    const { lifespan, runId, seed } = this.#options
    const n = this.inserts.next()
    const poison = params.isPoison(seed, n)
    const amount = poison ? -1 : params.insertAmount(seed, n)
    const via = Math.random() < 0.5 ? 'query' : 'execute'
    const readback = !poison && Math.random() < 1 / 3
    try {
      await lifespan.scope(async () => {
        const db = lifespan.db()
        await db[via]('INSERT INTO chaos_writes (run_id, n, via, amount) VALUES (?, ?, ?, ?)', [runId, n, via, amount])
        this.inserts.set(n, Outcome.ACKED)
        this.#count('insert', 'ok')
        if (poison) this.#anomaly('poison-insert-accepted', `insert ${n} violated the CHECK constraint but succeeded`)
        if (!readback) return
        try {
          const [rows] = await db.query('SELECT COUNT(*) AS c FROM chaos_writes WHERE run_id = ? AND n = ?', [runId, n])
          this.readbacks.done++
          const c = countOf(rows)
          if (c !== 1) this.#anomaly(c === 0 ? 'readback-not-found' : 'readback-duplicated', `insert ${n} read back ${c} times`)
        } catch (error) {
          this.readbacks.failed++
          this.#error('insert read-back', error)
        }
      })
    } catch (error) {
      if (this.inserts.get(n) === Outcome.ACKED) {
        // The insert succeeded; the scope failed afterwards (closing it): not the write's outcome.
        this.#error('insert scope', error)
        return
      }
      this.#error('insert', error)
      const outcome = writeOutcome(error)
      this.inserts.set(n, outcome === 'known' ? Outcome.KNOWN_FAILED : Outcome.UNKNOWN)
      this.#count('insert', outcome === 'known' ? 'knownFailed' : 'unknownFailed')
    }
  }

  async #transfer(): Promise<void> {
    const { lifespan, runId, seed, accounts } = this.#options
    const n = this.transfers.next()
    const { from, to, amount } = params.transfer(seed, n, accounts)
    // Most transfers lock both rows in index order first; the rest update in from/to order
    // and run into deadlocks, which the library must re-run whole.
    const lockFirst = Math.random() < 0.8
    let attempts = 0
    try {
      await lifespan.scope(() =>
        lifespan.db().transaction(
          async (tx) => {
            attempts++
            if (lockFirst) {
              const [rows] = await tx.query('SELECT id FROM chaos_accounts WHERE id IN (?, ?) FOR UPDATE', [from, to])
              if ((rows as unknown[]).length !== 2) throw new Error(`accounts ${from}/${to}: ${(rows as unknown[]).length} rows`)
            }
            await tx.query('UPDATE chaos_accounts SET balance = balance - ? WHERE id = ?', [amount, from])
            await tx.execute('UPDATE chaos_accounts SET balance = balance + ? WHERE id = ?', [amount, to])
            await tx.query('INSERT INTO chaos_transfers (run_id, n, from_id, to_id, amount) VALUES (?, ?, ?, ?, ?)', [runId, n, from, to, amount])
          },
          { retries: 3 },
        ),
      )
      this.transfers.set(n, Outcome.ACKED)
      this.#count('transfer', 'ok')
    } catch (error) {
      this.#error('transfer', error)
      const outcome = transactionOutcome(error)
      this.transfers.set(n, outcome === 'known' ? Outcome.KNOWN_FAILED : Outcome.UNKNOWN)
      this.#count('transfer', outcome === 'known' ? 'knownFailed' : 'unknownFailed')
    } finally {
      this.transferReruns += Math.max(0, attempts - 1)
    }
  }

  async #upsert(): Promise<void> {
    const { lifespan, runId } = this.#options
    const n = this.upserts.next()
    try {
      await lifespan.scope(() =>
        lifespan
          .db()
          .query('INSERT INTO chaos_idem (run_id, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n)', [runId, n], { idempotent: true }),
      )
      this.upserts.set(n, Outcome.ACKED)
      this.#count('upsert', 'ok')
    } catch (error) {
      // An earlier attempt may have been applied before the one that failed: always unknown.
      this.#error('upsert', error)
      this.upserts.set(n, Outcome.UNKNOWN)
      this.#count('upsert', 'unknownFailed')
    }
  }
}
