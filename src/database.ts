/**
 * @module
 * The handle `db(alias)` returns. Statements run on the current scope's connection
 * (or, outside any scope, in an implicit one-statement scope). After a disconnect a
 * statement is re-run on a fresh connection only when that cannot change its outcome.
 */
import type { FieldPacket, PoolConnection, QueryOptions, QueryResult } from 'mysql2'
import { type ErrorClass, isConnectionBroken } from './classify.js'
import { ErrorCodes, LifespanError, withCode } from './errors.js'
import type { AliasPool } from './pool.js'
import { canRerun, retrying, type StatementOptions } from './retry.js'
import { type Lease, storage } from './scope.js'
import { publishRetry } from './observe/channels.js'
import { type Method, type Queryable, runTransaction, type Transaction, type TransactionOptions } from './transaction.js'

/** @internal What a {@link Database} needs from its lifespan. */
export interface DatabaseHost {
  /** Runs `fn` in a fresh task scope (the implicit scope of a call made outside any scope). */
  implicitScope<T>(fn: () => Promise<T>): Promise<T>
  readonly classify: (error: unknown) => ErrorClass
}

/**
 * Statements against one alias. Get it from `lifespan.db(alias)`; it is cheap and
 * can be kept. Result shapes are mysql2's: `[rows, fields]`.
 */
export class Database implements Queryable {
  /** The alias this handle talks to. */
  readonly alias: string
  #pool: AliasPool
  #host: DatabaseHost

  /** @internal */
  constructor(pool: AliasPool, host: DatabaseHost) {
    this.alias = pool.alias
    this.#pool = pool
    this.#host = host
  }

  /**
   * Runs a statement with mysql2's `query`. Reads are re-run after a disconnect; other
   * statements only when marked `{ idempotent: true }`.
   *
   * @example
   * ```ts
   * const [rows] = await lifespan.db().query('SELECT * FROM t WHERE id = ?', [1])
   * await lifespan.db().query('UPDATE t SET n = 0 WHERE id = ?', [1], { idempotent: true })
   * ```
   */
  query<T = QueryResult>(sql: string | QueryOptions, values?: unknown, options?: StatementOptions): Promise<[T, FieldPacket[]]> {
    return this.#run('query', sql, values, options) as Promise<[T, FieldPacket[]]>
  }

  /** Runs a statement with mysql2's `execute` (prepared statement); same retry rules as {@link Database.query}. */
  execute<T = QueryResult>(sql: string | QueryOptions, values?: unknown, options?: StatementOptions): Promise<[T, FieldPacket[]]> {
    return this.#run('execute', sql, values, options) as Promise<[T, FieldPacket[]]>
  }

  /**
   * Runs `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it throws.
   * Inside `fn`, `db(alias)` of this alias also goes to the transaction.
   *
   * @throws {CommitOutcomeUnknownError} when the connection died during COMMIT.
   * @example
   * ```ts
   * await lifespan.db().transaction(async (tx) => {
   *   await tx.query('UPDATE accounts SET balance = balance - 10 WHERE id = 1')
   *   await tx.query('UPDATE accounts SET balance = balance + 10 WHERE id = 2')
   * }, { retries: 2 })
   * ```
   */
  transaction<T>(fn: (tx: Transaction) => T | Promise<T>, options?: TransactionOptions): Promise<T> {
    const context = storage.getStore()
    if (!context || context.frame.closed) return this.#host.implicitScope(() => this.transaction(fn, options))
    if (context.txs?.has(this.alias)) {
      return Promise.reject(
        new LifespanError(`A transaction on "${this.alias}" is already open in this context; use its handle instead of starting another.`, {
          code: ErrorCodes.NESTED_TRANSACTION,
        }),
      )
    }
    const lease = context.frame.lease(this.#pool)
    return runTransaction({ pool: this.#pool, lease, context, classify: this.#host.classify }, fn, options)
  }

  #run(method: Method, sql: unknown, values: unknown, options: StatementOptions | undefined): Promise<[unknown, unknown]> {
    const context = storage.getStore()
    const tx = context?.txs?.get(this.alias)
    if (tx) return tx.run(method, sql, values)
    // Outside any scope, or after the scope ended (a statement it did not await): one of its own.
    if (!context || context.frame.closed) return this.#host.implicitScope(() => this.#run(method, sql, values, options))
    return this.#once(context.frame.lease(this.#pool), method, sql, values, options, true)
  }

  /** One statement, one promise: the connection is awaited, errors classified and reads re-run inside its callbacks. */
  #once(lease: Lease, method: Method, sql: unknown, values: unknown, options: StatementOptions | undefined, first: boolean): Promise<[unknown, unknown]> {
    return new Promise((resolve, reject) => {
      const send = (conn: PoolConnection): void => {
        let settled = false
        lease.hold()
        this.#pool.send(conn, method, sql, values, (err, rows, fields) => {
          if (settled) return
          settled = true
          lease.unhold()
          if (!err) return resolve([rows, fields])
          const cls = this.#host.classify(err)
          if (isConnectionBroken(cls)) {
            lease.discard(conn, 'broken')
            this.#pool.suspectAll()
          }
          const error = withCode(err, cls)
          const policy = this.#pool.options.retry
          if (!first || !policy || policy.retries === 0 || !this.#rerunnable(error, sql, options)) return reject(error)
          this.#pool.countRetry()
          publishRetry('statement', this.alias, error)
          retrying(
            () => this.#once(lease, method, sql, values, options, false),
            { ...policy, retries: policy.retries - 1 },
            (e) => this.#rerunnable(e, sql, options),
            (e) => {
              this.#pool.countRetry()
              publishRetry('statement', this.alias, e)
            },
          ).then(resolve, reject)
        })
      }
      lease.withConnection((err, conn) => (conn ? send(conn) : reject(err)))
    })
  }

  #rerunnable(err: unknown, sql: unknown, options: StatementOptions | undefined): boolean {
    // A statement that ran out of time (ours or mysql2's per-query `timeout`) would most likely do so again.
    const code = (err as { code?: unknown } | null)?.code
    if (code === ErrorCodes.QUERY_TIMEOUT || code === 'PROTOCOL_SEQUENCE_TIMEOUT') return false
    const cls = this.#host.classify(err)
    // A read-only refusal means the statement was not applied: running it again cannot double it.
    if (cls === 'read-only') return true
    return cls === 'disconnect' && canRerun(sql, options)
  }
}
