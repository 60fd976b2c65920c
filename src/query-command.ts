/**
 * @module
 * A statement given as mysql2 query options (`{ sql, typeCast, … }`), sent without mysql2's own
 * object spread. mysql2 builds the options of such a query with `{ ...defaults, ...options, sql,
 * values }`; on Node 20's V8 (11.3) an object spread followed by more properties leaves the fast
 * path, and that line costs 3 to 6 µs per statement (measured here; a string statement costs
 * 0.1 µs). Tool settings (src/compat/settings.ts) turn every statement of TypeORM and Sequelize into
 * that form, so the facades would pay it on every read where the tool on its own pool does not.
 *
 * The same options object is built here with one `Object.assign` and handed to the constructor
 * of mysql2's `Query` command, which `connection.query()` accepts as it is. The constructor is
 * read once from a command that mysql2's public `createQuery` returns; when it cannot be found,
 * statements go through `connection.query(options)` as before. test/unit/mysql2-internals.test.ts
 * asserts both steps on the lowest and the newest mysql2 of the peer range.
 */
import mysql from 'mysql2'
import type { PoolConnection } from 'mysql2'
import type { StatementCallback } from './pool-types.js'

type QueryCommand = new (options: Record<string, unknown>, callback: StatementCallback) => object

/** mysql2's `Query` command class; null once it could not be found. */
let queryCommand: QueryCommand | null | undefined

function commandClass(): QueryCommand | null {
  if (queryCommand !== undefined) return queryCommand
  try {
    const probe = (mysql as unknown as { createQuery?: (sql: string, values: unknown, cb: unknown, config: object) => unknown }).createQuery?.('', undefined, undefined, {})
    const ctor = (probe as { constructor?: unknown } | undefined)?.constructor
    queryCommand = typeof ctor === 'function' && ctor !== Object ? (ctor as QueryCommand) : null
  } catch {
    queryCommand = null
  }
  return queryCommand
}

/**
 * @internal Sends `options` (a statement with mysql2 query options) on `conn` with `values` bound,
 * as `conn.query(options, values, done)` would: mysql2's defaults for the connection first, then
 * the statement's options, then its SQL and values.
 */
export function queryWithOptions(conn: PoolConnection, options: { sql?: unknown; values?: unknown }, values: unknown, done: StatementCallback): void {
  const Command = commandClass()
  if (Command === null) {
    ;(conn.query as (sql: unknown, values: unknown, cb: StatementCallback) => void).call(conn, options, values, done)
    return
  }
  const config = (conn as unknown as { config: { rowsAsArray?: unknown; infileStreamFactory?: unknown } }).config
  const merged: Record<string, unknown> = Object.assign({ rowsAsArray: config.rowsAsArray, infileStreamFactory: config.infileStreamFactory }, options)
  merged.sql = options.sql
  merged.values = values !== undefined ? values : options.values
  ;(conn.query as (command: object) => void).call(conn, new Command(merged, done))
}

/** @internal A statement given as plain mysql2 query options (`{ sql, … }`), not a string or one of mysql2's own command objects. */
export function isOptionsObject(sql: unknown): sql is { sql?: unknown; values?: unknown } {
  if (typeof sql !== 'object' || sql === null) return false
  const proto = Object.getPrototypeOf(sql) as unknown
  return proto === Object.prototype || proto === null
}
