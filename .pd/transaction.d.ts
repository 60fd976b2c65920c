/**
 * @module
 * Transactions. A transaction owns its scope's connection for the alias until it
 * ends; inside it, every `db(alias)` call of the async context goes to it. It is
 * re-run whole (when `retries` allows) after a deadlock, a lock-wait timeout or a
 * disconnect before COMMIT was sent, and never after a disconnect during COMMIT.
 */
import type { FieldPacket, PoolConnection, QueryOptions, QueryResult } from 'mysql2';
import { type ErrorClass } from './classify.js';
import type { AliasPool } from './pool.js';
import { type Context, type Lease } from './scope.js';
/** Options of `transaction()`. */
export interface TransactionOptions {
    /**
     * How many times the whole function is re-run after a deadlock (1213), a lock-wait
     * timeout (1205) or a disconnect before COMMIT was sent. The function must be safe to
     * run again: keep side effects outside the database out of it.
     *
     * @default 0
     */
    retries?: number;
    /** Isolation level of this transaction; the session default when absent. */
    isolationLevel?: 'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';
    /**
     * Start the transaction `READ ONLY`.
     *
     * @default false
     */
    readOnly?: boolean;
}
/** Something statements can be sent to: the result of `db()` or a transaction handle. */
export interface Queryable {
    /**
     * Runs a statement with mysql2's `query` (client-side placeholders). Resolves to mysql2's `[rows, fields]`.
     * mysql2 errors pass through unchanged.
     */
    query<T = QueryResult>(sql: string | QueryOptions, values?: unknown, options?: StatementOptionsLike): Promise<[T, FieldPacket[]]>;
    /** Runs a statement with mysql2's `execute` (server-side prepared statement). Resolves to `[rows, fields]`. */
    execute<T = QueryResult>(sql: string | QueryOptions, values?: unknown, options?: StatementOptionsLike): Promise<[T, FieldPacket[]]>;
}
/** @internal Same shape as StatementOptions, repeated to keep this module free of a cycle. */
interface StatementOptionsLike {
    idempotent?: boolean;
}
/** @internal */
export type Method = 'query' | 'execute';
/**
 * A handle on an open transaction, passed to the `transaction()` callback.
 * Using it after the transaction ended throws `ERR_LIFESPAN_TRANSACTION_CLOSED`.
 */
export declare class Transaction implements Queryable {
    #private;
    /** @internal The connection died during the transaction. */
    broken: unknown;
    /** @internal */
    constructor(pool: AliasPool, conn: PoolConnection, classify: (error: unknown) => ErrorClass);
    /** True once the transaction has committed or rolled back. */
    get closed(): boolean;
    query<T = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]>;
    execute<T = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]>;
    /** @internal */
    run(method: Method, sql: unknown, values: unknown): Promise<[unknown, unknown]>;
    /** @internal */
    close(): void;
}
/** @internal Everything `runTransaction` needs from its caller. */
export interface TransactionEnv {
    readonly pool: AliasPool;
    readonly lease: Lease;
    readonly context: Context;
    readonly classify: (error: unknown) => ErrorClass;
}
/** @internal Runs `fn` in a transaction on the scope's connection, re-running it whole where that is safe. */
export declare function runTransaction<T>(env: TransactionEnv, fn: (tx: Transaction) => T | Promise<T>, options: TransactionOptions | undefined): Promise<T>;
export {};
