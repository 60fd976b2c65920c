/**
 * @module
 * What the mysql2-compatible facades (src/compat) need from their lifespan: one alias's pool,
 * its statement path (`db(alias)`) and scopes. The core hands this over; it knows nothing of
 * the tools that use the facades.
 */
import type { ErrorClass } from '../classify.js'
import type { Database } from '../database.js'
import type { LifespanState } from '../lifespan-types.js'
import { afterSpaces, sqlText } from '../retry.js'
import type { ConnectionSource } from '../pool.js'
import type { Context } from '../scope.js'

/** @internal One alias, as the facades see it. */
export interface CompatHost {
  readonly alias: string
  readonly pool: ConnectionSource
  readonly classify: (error: unknown) => ErrorClass
  /** One server (no `hosts` or `replicas`): where a connection came from does not depend on the statement. */
  readonly single: boolean
  /** The lifespan's lifecycle state right now. */
  state(): LifespanState
  /** `lifespan.db(alias)`: throws in strict mode outside a scope. */
  db(): Database
  /**
   * Opens an implicit task scope the caller holds (no AsyncLocalStorage frame, no promise), as
   * `db()` outside any scope gets one: `body` runs with it once the lifespan runs (started if
   * needed) and calls `end` to close it. `fail` gets the refusal once shutdown has begun.
   */
  hold(body: (context: Context, end: () => void) => void, fail: (err: unknown) => void): void
  /** Settles once the lifespan runs (starting it if needed); rejects once shutdown has begun. */
  ready(): Promise<void>
}

/** @internal mysql2's statement callback. */
export type Callback = (err: unknown, rows?: unknown, fields?: unknown) => void

// Whether a statement opened a transaction is read from the server's status flags after its reply
// (AliasPool.inTransaction). The statements tools open transactions with are also recognised by their
// first words, only to take the connection for the tool *before* sending them: a statement of the
// scope sent meanwhile would otherwise queue behind BEGIN on the same connection and run inside it.
const OPENS_TRANSACTION = /^\s*(?:begin\b|start\s+transaction\b|xa\s+(?:start|begin)\b|set\s+(?:@@)?(?:session\s+|local\s+)?autocommit\s*=\s*(?:0|off|false)\b)/i

/** @internal The leading words of a statement that opens a transaction (a hint; the status flags decide). */
export function opensTransaction(sql: string | undefined): boolean {
  return sql !== undefined && OPENS_TRANSACTION.test(sql)
}

/**
 * @internal `KILL QUERY n` / `KILL CONNECTION n` a tool sends to cancel a statement (Kysely, from a
 * pool or control connection): on the scope's connection it would queue behind the very statement
 * it cancels, so it goes to the server from a side connection with the alias's settings instead.
 */
export const KILL = /^\s*kill\s+(query|connection)\s+(\d+)\s*;?\s*$/i

/**
 * @internal A statement that neither {@link KILL} nor {@link opensTransaction} can match: its first
 * letter (after ASCII spaces) is not k, b, x or s, or it starts with `sel` (SELECT). Three
 * characters looked at, for every statement a tool sends; anything else takes the full path.
 */
export function isPlain(sql: unknown): boolean {
  const text = typeof sql === 'string' ? sql : sqlText(sql)
  if (text === undefined) return false
  const i = afterSpaces(text)
  const code = text.charCodeAt(i)
  // Beyond ASCII (a space \s knows, say): the full path decides.
  if (code > 127) return false
  // `| 32` lower-cases an ASCII letter.
  const first = code | 32
  if (first === 107 || first === 98 || first === 120) return false
  if (first !== 115) return true
  return (text.charCodeAt(i + 1) | 32) === 101 && (text.charCodeAt(i + 2) | 32) === 108
}
