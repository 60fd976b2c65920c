/**
 * @module
 * What the mysql2-compatible facades (src/compat) need from their lifespan: one alias's pool,
 * its statement path (`db(alias)`) and scopes. The core hands this over; it knows nothing of
 * the tools that use the facades.
 */
import type { ErrorClass } from '../classify.js'
import type { Database } from '../database.js'
import type { AliasPool } from '../pool.js'

/** @internal One alias, as the facades see it. */
export interface CompatHost {
  readonly alias: string
  readonly pool: AliasPool
  readonly classify: (error: unknown) => ErrorClass
  /** `lifespan.db(alias)`: throws in strict mode outside a scope. */
  db(): Database
  /** `lifespan.scope(fn)`: joins the running scope, or opens one (refused once shutdown began). */
  scope<T>(fn: () => Promise<T>): Promise<T>
}

/** @internal mysql2's statement callback. */
export type Callback = (err: unknown, rows?: unknown, fields?: unknown) => void

/** Server status flags (MySQL protocol) carried by every OK packet. */
const IN_TRANS = 0x0001
const AUTOCOMMIT = 0x0002

/**
 * @internal Whether an OK packet says the session is inside a transaction (or has autocommit off,
 * so the next statement opens one). `undefined` for replies without status (result sets).
 */
export function inTransaction(reply: unknown): boolean | undefined {
  const status = (reply as { serverStatus?: unknown } | null)?.serverStatus
  if (typeof status !== 'number') return undefined
  return (status & IN_TRANS) !== 0 || (status & AUTOCOMMIT) === 0
}

// TODO(connection state): the lead's per-connection state from the status flags replaces this
// hint. It only decides *before* sending whether a statement opens a transaction, so the scope's
// other statements are kept off that connection from the start; the flags of the reply decide after.
const OPENS_TRANSACTION = /^\s*(?:begin\b|start\s+transaction\b|xa\s+(?:start|begin)\b|set\s+(?:@@)?(?:session\s+|local\s+)?autocommit\s*=\s*(?:0|off|false)\b)/i
const ROLLBACK = /^\s*rollback\s*(?:work\s*)?;?\s*$/i
const COMMIT = /^\s*commit\b/i

/** @internal The SQL hint that a statement opens a transaction. */
export function opensTransaction(sql: string | undefined): boolean {
  return sql !== undefined && OPENS_TRANSACTION.test(sql)
}

/** @internal A whole-transaction `ROLLBACK` (not `ROLLBACK TO SAVEPOINT`). */
export function isRollback(sql: string | undefined): boolean {
  return sql !== undefined && ROLLBACK.test(sql)
}

/** @internal A `COMMIT`. */
export function isCommit(sql: string | undefined): boolean {
  return sql !== undefined && COMMIT.test(sql)
}
