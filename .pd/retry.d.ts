import type { RetryOptions } from './options.js';
/** Per-statement options, the third argument of `query` and `execute`. */
export interface StatementOptions {
    /**
     * Whether the statement may be re-run on a fresh connection after a disconnect.
     * Defaults to `true` for plain reads (`SELECT`, `SHOW`, `DESCRIBE`, `EXPLAIN`,
     * `WITH … SELECT`) and `false` for everything else. Mark a write `true` only when
     * running it twice is harmless (an upsert to a fixed value, a delete by key).
     *
     * @default undefined (decided from the SQL)
     */
    idempotent?: boolean;
}
/** The SQL text of a mysql2 `query`/`execute` first argument (a string or `{ sql }`). */
export declare function sqlText(sql: unknown): string | undefined;
/**
 * True when `sql` is a plain read that is safe to run again on another connection:
 * it starts with SELECT/SHOW/DESCRIBE/EXPLAIN/WITH and has no locking clause, no
 * `INTO`, no write keyword, no session-dependent function, no user variable and no
 * second statement.
 *
 * @example
 * ```ts
 * isReadStatement('SELECT * FROM t WHERE id = ?')         // true
 * isReadStatement('SELECT * FROM t FOR UPDATE')            // false
 * isReadStatement('WITH x AS (SELECT 1) DELETE FROM t')    // false
 * ```
 */
export declare function isReadStatement(sql: unknown): boolean;
/** Whether a statement may be re-run after a disconnect. */
export declare function canRerun(sql: unknown, options: StatementOptions | undefined): boolean;
/** Runs `fn` again (with backoff) while `shouldRetry` allows and retries remain. */
export declare function retrying<T>(fn: (attempt: number) => Promise<T>, policy: Required<RetryOptions>, shouldRetry: (error: unknown) => boolean, onRetry: () => void): Promise<T>;
