/**
 * @module
 * When re-running work cannot change its outcome. A statement is re-run after a
 * disconnect only if it is a plain read or the caller marked it idempotent; a write
 * whose outcome is unknown is never re-run.
 */
import pRetry from 'p-retry'
import { callsStoredFunction } from './function-calls.js'
import { sqlBody } from './sql-code.js'
import type { RetryOptions } from './options.js'

/** Per-statement options, the third argument of `query` and `execute`. */
export interface StatementOptions {
  /**
   * Whether the statement may be re-run on a fresh connection after a disconnect.
   * Defaults to `true` for plain reads (`SELECT`, `SHOW`, `DESCRIBE`, `EXPLAIN`,
   * `WITH … SELECT`) that call no function but built-in ones, and `false` for everything else
   * (a stored function may write). Mark a statement `true` only when
   * running it twice is harmless (an upsert to a fixed value, a delete by key, a SELECT of a
   * stored function that only reads).
   *
   * @default undefined (decided from the SQL)
   */
  idempotent?: boolean
}

const READ_VERB = /^(?:select|show|describe|desc|explain|with)\b/i
// Clauses and functions that lock, write, or depend on the dead session's state:
// re-running them on a new connection could change the outcome or the answer.
const NOT_PURE =
  /\bfor\s+update\b|\bfor\s+share\b|\block\s+in\s+share\s+mode\b|\binto\b|\b(?:insert|update|delete)\b|\b(?:get_lock|release_lock|release_all_locks|is_used_lock|is_free_lock|last_insert_id|found_rows|row_count|connection_id|nextval|setval|lastval|sleep|benchmark|next\s+value\s+for)\b|@|;\s*\S/i

/** The SQL text of a mysql2 `query`/`execute` first argument (a string or `{ sql }`). */
export function sqlText(sql: unknown): string | undefined {
  if (typeof sql === 'string') return sql
  if (typeof sql === 'object' && sql !== null && typeof (sql as { sql?: unknown }).sql === 'string') {
    return (sql as { sql: string }).sql
  }
  return undefined
}

/**
 * @internal The index of the first character of `text` after leading ASCII spaces and control
 * characters (`text.length` when there is none): where the quick first-letter checks of a
 * statement look (`isPlain`, `changesSchema`).
 */
export function afterSpaces(text: string): number {
  let i = 0
  while (i < text.length && text.charCodeAt(i) <= 32) i++
  return i
}

/**
 * True when `sql` is a plain read that is safe to run again on another connection:
 * it starts with SELECT/SHOW/DESCRIBE/EXPLAIN/WITH and has no locking clause, no
 * `INTO`, no write keyword, no session-dependent function, no user variable, no
 * second statement, and no call of a function that is not built in (a stored function may write;
 * see `callsStoredFunction`). Comments are not looked at, except executable ones (`/*! … *\/`),
 * which the server runs; a string literal that holds a backslash makes it not a read (where it
 * ends depends on `NO_BACKSLASH_ESCAPES`).
 *
 * @example
 * ```ts
 * isReadStatement('SELECT * FROM t WHERE id = ?')         // true
 * isReadStatement('SELECT * FROM t FOR UPDATE')            // false
 * isReadStatement('WITH x AS (SELECT 1) DELETE FROM t')    // false
 * isReadStatement('SELECT my_fn(1)')                       // false
 * isReadStatement("SELECT -- it's\n my_fn(1)")              // false
 * isReadStatement('/*!INSERT INTO log *\/ SELECT 1')         // false
 * ```
 */
export function isReadStatement(sql: unknown): boolean {
  const text = sqlText(sql)
  if (text === undefined) return false
  // Comments and string literals can hold anything ('; DELETE', -- customer's); what the server
  // runs is judged, and an executable comment (/*!INSERT …*/) counts as what it is.
  const { code: body, ambiguous } = sqlBody(text)
  if (ambiguous) return false
  if (!READ_VERB.test(body)) return false
  return !NOT_PURE.test(body.replace(QUOTED_NAMES, '``')) && !callsStoredFunction(body)
}

// Backquoted names can hold keywords (`into`, `@x`): not looked at for keywords.
const QUOTED_NAMES = /`(?:[^`]|``)*`/g

/** Whether a statement may be re-run after a disconnect. */
export function canRerun(sql: unknown, options: StatementOptions | undefined): boolean {
  return options?.idempotent ?? isReadStatement(sql)
}

/** Runs `fn` again (with backoff) while `shouldRetry` allows and retries remain. */
export function retrying<T>(
  fn: (attempt: number) => Promise<T>,
  policy: Required<RetryOptions>,
  shouldRetry: (error: unknown) => boolean,
  onRetry: (error: unknown) => void,
): Promise<T> {
  return pRetry(fn, {
    retries: policy.retries,
    minTimeout: policy.minTimeoutMs,
    maxTimeout: policy.maxTimeoutMs,
    randomize: true,
    shouldRetry: ({ error }) => {
      const again = shouldRetry(error)
      if (again) onRetry(error)
      return again
    },
  })
}
