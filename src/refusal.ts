/**
 * @module
 * A refusal is not a failover. The server answers 1290 (ER_OPTION_PREVENTS_STATEMENT), 1792
 * (ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION) and 1836 (ER_READ_ONLY_MODE) when it became
 * read-only, as after a failover (a fresh connection may reach the new primary, and the
 * statement was not applied, so it can run again), but also when it refuses this one statement
 * for a reason of its own: `--secure-file-priv` for `INTO OUTFILE`, a transaction the caller
 * declared READ ONLY. Only the first destroys the connection and re-runs anything.
 *
 * The message decides when it can, so the common case costs no round trip: 1290's names the
 * option that prevents the statement. Otherwise the server is asked, once, on the same connection.
 */
import type { PoolConnection } from 'mysql2'
import { type ErrorClass, settleClass } from './classify.js'
import { describe } from './errors.js'
import { log } from './log.js'
import type { ConnectionSource } from './pool.js'

/** What a read-only error meant: the server is read-only (`failover`) or it refused this statement (`refusal`). */
export type RefusalVerdict = 'failover' | 'refusal'

const ER_OPTION_PREVENTS_STATEMENT = 1290
const ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION = 1792
const ER_READ_ONLY_MODE = 1836

/** Options whose refusal means the whole server is read-only (MySQL and MariaDB spellings). */
const READ_ONLY_OPTIONS = new Set(['--read-only', '--super-read-only', '--innodb-read-only'])
/** The option in "The MySQL server is running with the --secure-file-priv option so …"; it is a parameter, so also in translated messages. */
const OPTION_IN_MESSAGE = /--[a-z][a-z0-9_-]*/i

/**
 * Server variables that make every connection read-only. `SHOW VARIABLES … WHERE` works on MySQL
 * and MariaDB alike and simply leaves out the ones a server lacks (MariaDB has no
 * `super_read_only`, only newer servers have `transaction_read_only`), where `SELECT @@x` would fail.
 */
export const READ_ONLY_PROBE =
  "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only', 'innodb_read_only', 'transaction_read_only', 'tx_read_only')"

/**
 * Decides from the error alone, or returns `undefined` when only the server can tell.
 *
 * @param declaredReadOnly - the statement ran in a transaction the caller opened READ ONLY
 *   (`transaction(fn, { readOnly: true })`): a write there is the caller's error.
 * @example
 * ```ts
 * verdictFromError({ errno: 1290, message: 'The MariaDB server is running with the --secure-file-priv option …' }, false) // 'refusal'
 * verdictFromError({ errno: 1290, message: 'The MySQL server is running with the --read-only option …' }, false)         // 'failover'
 * verdictFromError({ errno: 1836, message: 'Running in read-only mode' }, false)                                        // undefined
 * ```
 */
export function verdictFromError(error: unknown, declaredReadOnly: boolean): RefusalVerdict | undefined {
  const { errno, message } = (error ?? {}) as { errno?: unknown; message?: unknown }
  if (errno === ER_OPTION_PREVENTS_STATEMENT) {
    const option = typeof message === 'string' ? OPTION_IN_MESSAGE.exec(message)?.[0] : undefined
    if (option === undefined) return undefined
    return READ_ONLY_OPTIONS.has(option.toLowerCase().replaceAll('_', '-')) ? 'failover' : 'refusal'
  }
  if (errno === ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION) return declaredReadOnly ? 'refusal' : undefined
  if (errno === ER_READ_ONLY_MODE) return undefined
  // A user classifier called something else 'read-only': take its word.
  return 'failover'
}

/** The verdict from the rows of {@link READ_ONLY_PROBE}: any of the variables on means the server is read-only. */
export function verdictFromVariables(rows: unknown): RefusalVerdict {
  const list = Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : []
  const on = list.some((row) => {
    const value = String(row.Value ?? row.VALUE ?? row.value ?? '').toUpperCase()
    // MariaDB 11 made read_only an enum (OFF, ON, NO_LOCK, NO_LOCK_NO_ADMIN): anything but off is on.
    return value !== 'OFF' && value !== '0' && value !== ''
  })
  return on ? 'failover' : 'refusal'
}

/**
 * @internal The class of a statement's error, with a read-only error judged: it stays `read-only`
 * (destroy the connection, the statement may run again) only when the server really is read-only,
 * and becomes `other` (an ordinary error: the connection is fine, nothing is re-run) for a refusal.
 * The verdict is remembered with the error, so every later classification of it agrees.
 * Calls `done` synchronously unless the server has to be asked; `conn` stays in use meanwhile.
 */
export function judgeError(
  error: unknown,
  classify: (error: unknown) => ErrorClass,
  pool: ConnectionSource,
  conn: PoolConnection,
  declaredReadOnly: boolean,
  done: (cls: ErrorClass) => void,
): void {
  const cls = classify(error)
  if (cls !== 'read-only') return done(cls)
  const settle = (verdict: RefusalVerdict): void => {
    const judged: ErrorClass = verdict === 'failover' ? 'read-only' : 'other'
    settleClass(error, judged)
    done(judged)
  }
  const known = verdictFromError(error, declaredReadOnly)
  if (known) return settle(known)
  pool.exec(conn, 'query', READ_ONLY_PROBE, undefined, pool.options.pingTimeoutMs).then(
    ([rows]) => settle(verdictFromVariables(rows)),
    (err: unknown) => {
      // The connection failed the question too: treat it as gone. The refused statement was not
      // applied, so running it on a fresh connection cannot double it.
      log(pool.options.logger, 'debug', { alias: pool.alias, err: describe(err) }, 'read-only probe failed')
      settle('failover')
    },
  )
}

/** @internal {@link judgeError} as a promise. */
export function judgedClass(
  error: unknown,
  classify: (error: unknown) => ErrorClass,
  pool: ConnectionSource,
  conn: PoolConnection,
  declaredReadOnly: boolean,
): Promise<ErrorClass> {
  return new Promise((resolve) => judgeError(error, classify, pool, conn, declaredReadOnly, resolve))
}
