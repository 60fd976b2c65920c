/**
 * @module
 * The handle `db(alias)` returns. Statements run on the current scope's connection
 * (or, outside any scope, in an implicit one-statement scope). After a disconnect a
 * statement is re-run on a fresh connection only when that cannot change its outcome.
 */
import type { FieldPacket, QueryOptions, QueryResult } from 'mysql2'
import type { ErrorClass } from './classify.js'
import { ErrorCodes, LifespanError } from './errors.js'
import type { ConnectionSource } from './pool.js'
import type { StatementOptions } from './retry.js'
import { type Frame, storage } from './scope.js'
import { CAUSAL_TOKEN_SQL, checkCausalToken } from './topology/causal.js'
import { type Method, runStatement } from './statement.js'
import { type Queryable, runTransaction, type Transaction, type TransactionOptions } from './transaction.js'

/** @internal What a {@link Database} needs from its lifespan. */
export interface DatabaseHost {
  /** Runs `fn` in a fresh task scope (the implicit scope of a call made outside any scope). */
  implicitScope<T>(fn: () => Promise<T>): Promise<T>
  /**
   * Opens an implicit task scope held by the caller, without an AsyncLocalStorage frame (a lone
   * statement outside any scope runs no code of the caller in it): `body` runs once the lifespan
   * runs and calls `end` to close it; `fail` gets the refusal once shutdown has begun.
   */
  hold(body: (frame: Frame, end: () => void) => void, fail: (err: unknown) => void): void
  readonly classify: (error: unknown) => ErrorClass
}

/**
 * @internal Picks where each statement of an alias with `hosts`/`replicas` goes, from the scope's
 * state (src/topology/). Without one, everything goes to the alias's pool.
 */
export interface StatementRouter {
  /** The source of one statement outside a transaction in `frame`. */
  forStatement(frame: Frame, sql: unknown): ConnectionSource
  /** The source of a transaction in `frame` (the scope then counts as having written). */
  forTransaction(frame: Frame): ConnectionSource
  /** Reads of `frame` on a replica wait until the replica has applied `token`. */
  after(frame: Frame, token: string): void
}

/**
 * Statements against one alias. Get it from `lifespan.db(alias)`; it is cheap and
 * can be kept. Result shapes are mysql2's: `[rows, fields]`.
 */
export class Database implements Queryable {
  /** The alias this handle talks to. */
  readonly alias: string
  #pool: ConnectionSource
  #host: DatabaseHost
  #router: StatementRouter | undefined

  /** @internal */
  constructor(pool: ConnectionSource, host: DatabaseHost, router?: StatementRouter) {
    this.alias = pool.alias
    this.#pool = pool
    this.#host = host
    this.#router = router
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
    const pool = this.#router ? this.#router.forTransaction(context.frame) : this.#pool
    const lease = context.frame.lease(pool)
    return runTransaction({ pool, lease, context, classify: this.#host.classify }, fn, options)
  }

  /**
   * A causal-read token: the primary's GTID position (MariaDB `@@gtid_binlog_pos`), which covers
   * every write committed before the call, this scope's included. Hand it to a later
   * scope (a cookie, a job payload) and call {@link Database.after} there: that scope's reads on a
   * replica then see these writes. Runs on the primary; MariaDB only.
   *
   * @example
   * ```ts
   * await db.execute('UPDATE users SET name = ? WHERE id = ?', [name, id])
   * res.cookie('db-pos', await db.causalToken())
   * ```
   */
  async causalToken(): Promise<string> {
    const [rows] = await this.query<Array<{ token: unknown }>>(CAUSAL_TOKEN_SQL)
    return String(rows[0]?.token ?? '')
  }

  /**
   * In the current scope, reads that go to a replica first wait (a short bound: `maxReplicaLagMs`)
   * until the replica has applied `token` (from {@link Database.causalToken}); a replica that does
   * not get there in time is left for the primary. Call it before the scope's first read. Without
   * replicas it does nothing: the primary always sees its own writes.
   *
   * @throws {LifespanError} `ERR_LIFESPAN_INVALID_ARGUMENT` for a token that is not a GTID list,
   *   `ERR_LIFESPAN_NO_SCOPE` outside a scope.
   */
  after(token: string): void {
    const checked = checkCausalToken(token)
    const context = storage.getStore()
    if (!context || context.frame.closed) {
      throw new LifespanError('after(token) needs a scope: call it inside lifespan.scope(), a task or an adapter-managed request.', {
        code: ErrorCodes.NO_SCOPE,
      })
    }
    if (checked !== '') this.#router?.after(context.frame, checked)
  }

  /** A statement outside any scope, in an implicit scope of its own that ends when it settles. */
  #alone(method: Method, sql: unknown, values: unknown, options: StatementOptions | undefined): Promise<[unknown, unknown]> {
    return new Promise((resolve, reject) =>
      this.#host.hold((frame, end) => {
        const lease = frame.lease(this.#router ? this.#router.forStatement(frame, sql) : this.#pool)
        runStatement(lease, this.#host.classify, { method, sql, values, options }, (err, rows, fields) => {
          end()
          if (err) reject(err)
          else resolve([rows, fields])
        })
      }, reject),
    )
  }

  #run(method: Method, sql: unknown, values: unknown, options: StatementOptions | undefined): Promise<[unknown, unknown]> {
    const context = storage.getStore()
    const tx = context?.txs?.get(this.alias)
    if (tx) return tx.run(method, sql, values)
    // Outside any scope, or after the scope ended (a statement it did not await): one of its own.
    if (!context || context.frame.closed) return this.#alone(method, sql, values, options)
    const lease = context.frame.lease(this.#router ? this.#router.forStatement(context.frame, sql) : this.#pool)
    return new Promise((resolve, reject) =>
      runStatement(lease, this.#host.classify, { method, sql, values, options }, (err, rows, fields) => (err ? reject(err) : resolve([rows, fields]))),
    )
  }
}
