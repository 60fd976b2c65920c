/**
 * @module
 * Transactions. A transaction owns its scope's connection for the alias until it
 * ends; inside it, every `db(alias)` call of the async context goes to it. It is
 * re-run whole (when `retries` allows) after a deadlock, a lock-wait timeout or a
 * disconnect before COMMIT was sent, and never after a disconnect during COMMIT.
 */
import type { FieldPacket, PoolConnection, QueryOptions, QueryResult } from 'mysql2'
import { type ErrorClass, isConnectionBroken } from './classify.js'
import { CommitOutcomeUnknownError, ErrorCodes, InvalidOptionError, LifespanError, withCode } from './errors.js'
import type { ConnectionSource } from './pool.js'
import { judgedClass } from './refusal.js'
import { retrying } from './retry.js'
import { fitZoneAsync, hasZone } from './session-zone.js'
import { publishRetry } from './observe/channels.js'
import { type Context, type Lease, type ScopeTransaction, storage } from './scope.js'
import type { Method } from './statement.js'

/** Options of `transaction()`. */
export interface TransactionOptions {
  /**
   * How many times the whole function is re-run after a deadlock (1213), a lock-wait
   * timeout (1205) or a disconnect before COMMIT was sent. The function must be safe to
   * run again: keep side effects outside the database out of it.
   *
   * @default 0
   */
  retries?: number
  /** Isolation level of this transaction; the session default when absent. */
  isolationLevel?: 'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE'
  /**
   * Start the transaction `READ ONLY`.
   *
   * @default false
   */
  readOnly?: boolean
}

/** Something statements can be sent to: the result of `db()` or a transaction handle. */
export interface Queryable {
  /**
   * Runs a statement with mysql2's `query` (client-side placeholders). Resolves to mysql2's `[rows, fields]`.
   * mysql2 errors pass through unchanged.
   */
  query<T = QueryResult>(sql: string | QueryOptions, values?: unknown, options?: StatementOptionsLike): Promise<[T, FieldPacket[]]>
  /** Runs a statement with mysql2's `execute` (server-side prepared statement). Resolves to `[rows, fields]`. */
  execute<T = QueryResult>(sql: string | QueryOptions, values?: unknown, options?: StatementOptionsLike): Promise<[T, FieldPacket[]]>
}

/** @internal Same shape as StatementOptions, repeated to keep this module free of a cycle. */
interface StatementOptionsLike {
  idempotent?: boolean
}

/**
 * A handle on an open transaction, passed to the `transaction()` callback.
 * Using it after the transaction ended throws `ERR_LIFESPAN_TRANSACTION_CLOSED`.
 */
export class Transaction implements Queryable, ScopeTransaction {
  #pool: ConnectionSource
  #conn: PoolConnection
  #classify: (error: unknown) => ErrorClass
  #readOnly: boolean
  #closed = false
  /** @internal The connection died during the transaction. */
  broken: unknown = undefined

  /** @internal */
  constructor(pool: ConnectionSource, conn: PoolConnection, classify: (error: unknown) => ErrorClass, readOnly = false) {
    this.#pool = pool
    this.#conn = conn
    this.#classify = classify
    this.#readOnly = readOnly
  }

  /** True once the transaction has committed or rolled back. */
  get closed(): boolean {
    return this.#closed
  }

  query<T = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.run('query', sql, values) as Promise<[T, FieldPacket[]]>
  }

  execute<T = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.run('execute', sql, values) as Promise<[T, FieldPacket[]]>
  }

  /** @internal */
  async run(method: Method, sql: unknown, values: unknown): Promise<[unknown, unknown]> {
    if (this.#closed) {
      throw new LifespanError('This transaction has already ended; run the statement inside the transaction() callback.', {
        code: ErrorCodes.TRANSACTION_CLOSED,
      })
    }
    if (this.broken) throw this.broken
    try {
      return await this.#pool.exec(this.#conn, method, sql, values)
    } catch (err) {
      // A write refused in a transaction opened READ ONLY is the caller's error, not a failover.
      const cls = await judgedClass(err, this.#classify, this.#pool, this.#conn, this.#readOnly)
      const error = withCode(err, cls)
      if (isConnectionBroken(cls)) this.broken = error
      throw error
    }
  }

  /** @internal */
  close(): void {
    this.#closed = true
  }
}

/** @internal Everything `runTransaction` needs from its caller. */
export interface TransactionEnv {
  readonly pool: ConnectionSource
  readonly lease: Lease
  readonly context: Context
  readonly classify: (error: unknown) => ErrorClass
}

function isRetryable(err: unknown, classify: (error: unknown) => ErrorClass): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (code === ErrorCodes.COMMIT_OUTCOME_UNKNOWN || code === ErrorCodes.QUERY_TIMEOUT || code === 'PROTOCOL_SEQUENCE_TIMEOUT') return false
  const cls = classify(err)
  return cls === 'transaction-retryable' || cls === 'disconnect' || cls === 'read-only'
}

/** @internal Runs `fn` in a transaction on the scope's connection, re-running it whole where that is safe. */
export function runTransaction<T>(env: TransactionEnv, fn: (tx: Transaction) => T | Promise<T>, options: TransactionOptions | undefined): Promise<T> {
  const retries = options?.retries ?? 0
  if (!Number.isInteger(retries) || retries < 0) {
    return Promise.reject(new InvalidOptionError('retries', `expected a whole number >= 0, got ${String(retries)}`))
  }
  const once = (): Promise<T> => attempt(env, fn, options)
  if (retries === 0) return once()
  const policy = env.pool.options.retry || { retries, minTimeoutMs: 25, maxTimeoutMs: 1_000 }
  return retrying(once, { ...policy, retries }, (err) => isRetryable(err, env.classify), (err) => {
    env.pool.countRetry()
    publishRetry('transaction', env.pool.alias, err)
  })
}

async function attempt<T>(env: TransactionEnv, fn: (tx: Transaction) => T | Promise<T>, options: TransactionOptions | undefined): Promise<T> {
  const { pool, lease, context, classify } = env
  const conn = await lease.connection()
  // A time zone a tool left on the connection gives way to the handshake's (src/session-zone.ts).
  if (!hasZone(pool, conn, undefined)) {
    await fitZoneAsync(pool, conn, undefined).catch((err: unknown) => {
      lease.discard(conn, 'broken')
      throw err
    })
  }
  const unlock = lease.lockForTransaction()
  lease.hold()
  const tx = new Transaction(pool, conn, classify, options?.readOnly === true)
  let commitSent = false
  try {
    if (options?.isolationLevel) await tx.run('query', `SET TRANSACTION ISOLATION LEVEL ${isolation(options.isolationLevel)}`, undefined)
    await tx.run('query', options?.readOnly ? 'START TRANSACTION READ ONLY' : 'START TRANSACTION', undefined)
    const txs = new Map(context.txs)
    txs.set(pool.alias, tx)
    const result = await storage.run({ frame: context.frame, txs }, () => fn(tx))
    // The callback may have swallowed a disconnect: nothing was committed, say so.
    if (tx.broken) throw tx.broken
    commitSent = true
    await tx.run('query', 'COMMIT', undefined)
    return result
  } catch (err) {
    const cls = classify(err)
    if (tx.broken || isConnectionBroken(cls)) {
      lease.discard(conn, 'broken')
      pool.suspectAll()
      if (commitSent && cls === 'disconnect') throw new CommitOutcomeUnknownError(err)
    } else {
      await rollback(tx, lease, conn)
    }
    throw err
  } finally {
    tx.close()
    unlock()
    lease.unhold()
  }
}

async function rollback(tx: Transaction, lease: Lease, conn: PoolConnection): Promise<void> {
  try {
    await tx.run('query', 'ROLLBACK', undefined)
  } catch {
    // A connection that cannot roll back must not carry a half-open transaction to the next scope.
    lease.discard(conn, 'broken')
  }
}

const LEVELS = new Set(['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'])
function isolation(level: string): string {
  if (!LEVELS.has(level)) throw new InvalidOptionError('isolationLevel', `expected one of ${[...LEVELS].join(', ')}`)
  return level
}
