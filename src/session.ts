/**
 * @module
 * A connection's session from its first statement to its return to the pool. At connect, the
 * settings the handshake gave it are read (with the server's idle limit, in the same round trip)
 * and the server is asked to flag session-state changes in its replies. When a scope gives back
 * a connection inside a transaction it is rolled back; when its session changed it is reset
 * (COM_RESET_CONNECTION) and the handshake's settings are put back: MariaDB 10.11 loses
 * `IGNORE_SPACE` from `sql_mode` on a reset, and mysql2's `changeUser()` changes the collation.
 * A clean connection costs no round trip.
 */
import type { PoolConnection } from 'mysql2'
import type { SessionState } from './connection-state.js'

/** Runs one statement on a connection within `timeoutMs` (the pool's own `exec`). */
export type Exec = (conn: PoolConnection, method: 'query', sql: string, values: unknown, timeoutMs: number) => Promise<[unknown, unknown]>

/** The session a connection had after its handshake, to restore after a reset. */
export interface SessionBaseline {
  /** `@@session.wait_timeout`, in seconds. */
  readonly waitTimeoutSeconds: number
  readonly sqlMode: string
  readonly charset: string
  readonly collation: string
  readonly timeZone: string
  /** The default database, `''` when none. */
  readonly database: string
  /**
   * The server flags session-state changes (`session_track_state_change`). When it cannot, every
   * connection is reset when it leaves a scope: correct, one reset per scope.
   */
  readonly tracked: boolean
}

const READ_BASELINE =
  'SELECT @@session.wait_timeout AS w, @@session.sql_mode AS m, @@session.character_set_client AS c, ' +
  '@@session.collation_connection AS k, @@session.time_zone AS z, DATABASE() AS d'
const TRACK = 'SET SESSION session_track_state_change = 1'

/**
 * Reads a new connection's baseline and turns on session-state tracking. Two round trips, once
 * per connection. Rejects with the driver's error when the connection does not work.
 */
export async function prepareSession(exec: Exec, conn: PoolConnection, timeoutMs: number): Promise<SessionBaseline> {
  const [rows] = await exec(conn, 'query', READ_BASELINE, undefined, timeoutMs)
  const row = (rows as Array<Record<string, unknown>>)[0] ?? {}
  let tracked = true
  try {
    await exec(conn, 'query', TRACK, undefined, timeoutMs)
  } catch (err) {
    // A server without the variable answers with an ordinary SQL error; a dead one with a fatal one.
    if ((err as { fatal?: unknown }).fatal === true) throw err
    tracked = false
  }
  return {
    waitTimeoutSeconds: Number(row.w),
    sqlMode: String(row.m ?? ''),
    charset: String(row.c ?? ''),
    collation: String(row.k ?? ''),
    timeZone: String(row.z ?? 'SYSTEM'),
    database: typeof row.d === 'string' ? row.d : '',
    tracked,
  }
}

/**
 * Resets the session (rolls back, drops user and session variables, temporary tables, named
 * locks and prepared statements; mysql2 clears its statement cache with it), then puts the
 * baseline back in one statement. Two round trips; three when a `USE` changed the default
 * database, which a reset keeps.
 */
async function resetSession(exec: Exec, conn: PoolConnection, baseline: SessionBaseline, schemaChanged: boolean, timeoutMs: number): Promise<void> {
  await withTimeout(new Promise<void>((resolve, reject) => conn.reset((err) => (err ? reject(err) : resolve()))), timeoutMs)
  const values: unknown[] = []
  const parts: string[] = []
  if (baseline.charset) {
    parts.push(baseline.collation ? 'NAMES ? COLLATE ?' : 'NAMES ?')
    values.push(baseline.charset)
    if (baseline.collation) values.push(baseline.collation)
  }
  parts.push('SESSION sql_mode = ?', 'SESSION time_zone = ?')
  values.push(baseline.sqlMode, baseline.timeZone)
  if (baseline.tracked) parts.push('SESSION session_track_state_change = 1')
  await exec(conn, 'query', `SET ${parts.join(', ')}`, values, timeoutMs)
  if (schemaChanged && baseline.database) await exec(conn, 'query', `USE ${quoteIdentifier(baseline.database)}`, undefined, timeoutMs)
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``
}

/**
 * Makes a connection a scope gave back fit for the next: a changed session (or one the server
 * cannot report on) is reset, a transaction left open is rolled back. Counts which it did.
 */
export async function cleanSession(
  exec: Exec,
  conn: PoolConnection,
  m: { session: SessionState; baseline: SessionBaseline | undefined },
  pingTimeoutMs: number,
  counters: { resets: number; rollbacks: number },
): Promise<void> {
  // A ROLLBACK of a large transaction takes a while; past this the server rolls back on disconnect.
  const timeoutMs = Math.max(5_000, 5 * pingTimeoutMs)
  const baseline = m.baseline as SessionBaseline
  if (m.session.dirty || !baseline.tracked) {
    counters.resets++
    await resetSession(exec, conn, baseline, m.session.schemaChanged, timeoutMs)
    m.session.zone = undefined
  } else {
    counters.rollbacks++
    await rollbackSession(exec, conn, timeoutMs)
  }
  if (m.session.inTransaction) throw new Error('still inside a transaction after cleaning')
  m.session.dirty = false
  m.session.schemaChanged = false
}

/** Rolls back the transaction a scope left open. One round trip. */
async function rollbackSession(exec: Exec, conn: PoolConnection, timeoutMs: number): Promise<void> {
  await exec(conn, 'query', 'ROLLBACK', undefined, timeoutMs)
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}
