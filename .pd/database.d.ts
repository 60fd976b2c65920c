/**
 * @module
 * The handle `db(alias)` returns. Statements run on the current scope's connection
 * (or, outside any scope, in an implicit one-statement scope). After a disconnect a
 * statement is re-run on a fresh connection only when that cannot change its outcome.
 */
import type { FieldPacket, QueryOptions, QueryResult } from 'mysql2';
import { type ErrorClass } from './classify.js';
import type { AliasPool } from './pool.js';
import { type StatementOptions } from './retry.js';
import { type Queryable, type Transaction, type TransactionOptions } from './transaction.js';
/** @internal What a {@link Database} needs from its lifespan. */
export interface DatabaseHost {
    /** Runs `fn` in a fresh task scope (the implicit scope of a call made outside any scope). */
    implicitScope<T>(fn: () => Promise<T>): Promise<T>;
    readonly classify: (error: unknown) => ErrorClass;
}
/**
 * Statements against one alias. Get it from `lifespan.db(alias)`; it is cheap and
 * can be kept. Result shapes are mysql2's: `[rows, fields]`.
 */
export declare class Database implements Queryable {
    #private;
    /** The alias this handle talks to. */
    readonly alias: string;
    /** @internal */
    constructor(pool: AliasPool, host: DatabaseHost);
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
    query<T = QueryResult>(sql: string | QueryOptions, values?: unknown, options?: StatementOptions): Promise<[T, FieldPacket[]]>;
    /** Runs a statement with mysql2's `execute` (prepared statement); same retry rules as {@link Database.query}. */
    execute<T = QueryResult>(sql: string | QueryOptions, values?: unknown, options?: StatementOptions): Promise<[T, FieldPacket[]]>;
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
    transaction<T>(fn: (tx: Transaction) => T | Promise<T>, options?: TransactionOptions): Promise<T>;
}
