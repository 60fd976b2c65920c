/**
 * @module
 * The gather step of the doctor: one connection to the server, a handful of read-only
 * statements, and the answers as plain data ({@link ServerFacts}) for the pure checks.
 * Nothing here changes the server; a statement the account may not run is recorded as
 * unknown rather than failing the whole examination.
 */
import mysql from 'mysql2/promise'
import { closeNow } from '../../close-now.js'
import type { DoctorTarget } from './target.js'

/** Replication as the server reports it. */
export type ReplicationFacts =
  | { readonly state: 'none' }
  | {
      readonly state: 'replica'
      readonly ioRunning: string
      readonly sqlRunning: string
      /** Seconds behind the source; null while the replica threads do not run. */
      readonly secondsBehind: number | null
      readonly lastError: string
    }
  | { readonly state: 'unknown'; readonly reason: string }

/** The account's privileges, as read from `SHOW GRANTS`. */
export type GrantFacts =
  | {
      readonly known: true
      /** Privileges granted on `*.*`, upper case (`ALL PRIVILEGES`, `SUPER`, `CONNECTION ADMIN`, ...). */
      readonly global: readonly string[]
      /** Whether roles are granted (their privileges are not expanded here). */
      readonly roles: boolean
    }
  | { readonly known: false; readonly reason: string }

/** Everything the checks look at, gathered from one server. */
export interface ServerFacts {
  /** `SELECT VERSION()`. */
  readonly version: string
  readonly flavour: 'mariadb' | 'mysql'
  /** The host the doctor connected to (the URL's). */
  readonly host: string
  /**
   * Global variables of interest, by lower-case name, as strings. A variable the server does
   * not have (`super_read_only` on MariaDB, `wsrep_on` on MySQL) is absent.
   */
  readonly variables: Readonly<Record<string, string>>
  /** `@@session.wait_timeout` of a connection opened like the library's (what it reads). */
  readonly sessionWaitTimeout: number
  /** `@@session.max_user_connections`: the account's own limit where one is set. */
  readonly sessionMaxUserConnections: number
  /** `Threads_connected` when the doctor looked. */
  readonly threadsConnected: number
  /** The doctor's own connection used TLS (`Ssl_cipher` not empty). */
  readonly tls: { readonly used: boolean; readonly cipher: string; readonly version: string }
  /** `SHOW STATUS LIKE 'wsrep_%'` when `wsrep_on` is ON; empty otherwise. */
  readonly wsrep: Readonly<Record<string, string>>
  readonly replication: ReplicationFacts
  readonly grants: GrantFacts
}

/** The global variables the checks read. */
export const VARIABLES = [
  'version_comment', 'wait_timeout', 'interactive_timeout', 'max_connections', 'max_user_connections',
  'extra_max_connections', 'net_read_timeout', 'net_write_timeout', 'max_connect_errors', 'have_ssl',
  'require_secure_transport', 'read_only', 'innodb_read_only', 'super_read_only', 'wsrep_on',
] as const

type Row = Record<string, unknown>

function nameValue(rows: Row[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const row of rows) out[String(row.Variable_name).toLowerCase()] = String(row.Value ?? '')
  return out
}

function errorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown }
  return e.code ? `${String(e.code)}: ${String(e.message)}` : String(e.message ?? err)
}

/**
 * The server accepted the connection but did not answer a statement in time (a stalled path, a
 * wedged server): the examination stops there, since nothing more would go through.
 */
export class NoAnswerError extends Error {
  /** Like a connect timeout, for the message's prefix. */
  readonly code = 'ETIMEDOUT'
}

/** Runs one statement on the doctor's connection, bounded by `timeoutMs`. */
type Ask = (sql: string) => Promise<Row[]>

function asker(conn: mysql.Connection, timeoutMs: number): Ask {
  return async (sql) => {
    try {
      const [rows] = await conn.query({ sql, timeout: timeoutMs })
      return rows as Row[]
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'PROTOCOL_SEQUENCE_TIMEOUT') throw err
      const words = sql.split(/\s+/).slice(0, 3).join(' ')
      throw new NoAnswerError(`the server accepted the connection but did not answer ${words} … within ${timeoutMs} ms`)
    }
  }
}

/** Parses `SHOW GRANTS` lines into the account's global privileges. Exported for the tests. */
export function parseGrants(lines: readonly string[]): GrantFacts {
  const global: string[] = []
  let roles = false
  for (const line of lines) {
    const m = /^GRANT (.+?) ON (\S+) TO /i.exec(line)
    if (!m) {
      // `GRANT role TO user` (no ON): a role; its privileges are not listed here.
      if (/^GRANT /i.test(line)) roles = true
      continue
    }
    if (m[2] !== '*.*') continue
    // Column lists ("SELECT (a, b)") never appear on *.*, so splitting on commas is safe here.
    for (const p of m[1]!.split(',')) global.push(p.trim().toUpperCase().replace(/_/g, ' '))
  }
  return { known: true, global, roles }
}

async function readReplication(ask: Ask): Promise<ReplicationFacts> {
  let rows: Row[]
  try {
    rows = await ask('SHOW REPLICA STATUS')
  } catch (err) {
    if (err instanceof NoAnswerError) throw err
    // MySQL before 8.0.22 and MariaDB before 10.5.1 only know the older spelling.
    if ((err as { errno?: number }).errno !== 1064) return { state: 'unknown', reason: errorText(err) }
    try {
      rows = await ask('SHOW SLAVE STATUS')
    } catch (again) {
      if (again instanceof NoAnswerError) throw again
      return { state: 'unknown', reason: errorText(again) }
    }
  }
  const row = rows[0]
  if (!row) return { state: 'none' }
  const pick = (...names: string[]): unknown => names.map((n) => row[n]).find((v) => v !== undefined)
  const behind = pick('Seconds_Behind_Source', 'Seconds_Behind_Master')
  return {
    state: 'replica',
    ioRunning: String(pick('Replica_IO_Running', 'Slave_IO_Running') ?? ''),
    sqlRunning: String(pick('Replica_SQL_Running', 'Slave_SQL_Running') ?? ''),
    secondsBehind: behind === null || behind === undefined ? null : Number(behind),
    lastError: String(pick('Last_Error', 'Last_SQL_Error', 'Last_IO_Error') ?? ''),
  }
}

async function readGrants(ask: Ask): Promise<GrantFacts> {
  try {
    const rows = await ask('SHOW GRANTS')
    return parseGrants(rows.map((r) => String(Object.values(r)[0])))
  } catch (err) {
    if (err instanceof NoAnswerError) throw err
    return { known: false, reason: errorText(err) }
  }
}

/**
 * Connects to `target` and reads the facts. Rejects with mysql2's error when the server
 * cannot be reached or refuses the login (the caller turns that into a clear message), and with
 * a {@link NoAnswerError} when a statement gets no answer within `timeoutMs`: connecting and
 * each statement are bounded, so the doctor never hangs on a stalled path.
 */
export async function gatherFacts(target: DoctorTarget, timeoutMs: number): Promise<ServerFacts> {
  const conn = await mysql.createConnection({ ...target.connection, connectTimeout: timeoutMs })
  const ask = asker(conn, timeoutMs)
  let answered = true
  try {
    const list = VARIABLES.map((v) => `'${v}'`).join(', ')
    const vars = await ask(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${list})`)
    const [session] = await ask('SELECT VERSION() AS version, @@session.wait_timeout AS wt, @@session.max_user_connections AS muc')
    const status = await ask("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version', 'Threads_connected')")
    const variables = nameValue(vars)
    const st = nameValue(status)
    let wsrep: Record<string, string> = {}
    if (variables.wsrep_on === 'ON') wsrep = nameValue(await ask("SHOW GLOBAL STATUS LIKE 'wsrep\\_%'"))
    const version = String(session!.version)
    return {
      version,
      flavour: /mariadb/i.test(`${version} ${variables.version_comment ?? ''}`) ? 'mariadb' : 'mysql',
      host: target.host,
      variables,
      sessionWaitTimeout: Number(session!.wt),
      sessionMaxUserConnections: Number(session!.muc),
      threadsConnected: Number(st.threads_connected ?? 0),
      tls: { used: Boolean(st.ssl_cipher), cipher: st.ssl_cipher ?? '', version: st.ssl_version ?? '' },
      wsrep,
      replication: await readReplication(ask),
      grants: await readGrants(ask),
    }
  } catch (err) {
    if (err instanceof NoAnswerError) answered = false
    throw err
  } finally {
    await close(conn, answered ? timeoutMs : 0)
  }
}

/** Ends the connection politely within `graceMs` (0: at once), else closes its socket outright. */
async function close(conn: mysql.Connection, graceMs: number): Promise<void> {
  // The promise wrapper's `connection` is mysql2's own, whose socket closeNow() closes.
  const destroy = (): void => closeNow((conn as unknown as { connection: { destroy(): void } }).connection)
  if (graceMs === 0) return destroy()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))
  const ended = await Promise.race([conn.end().then(() => true, () => false), late.then(() => false)])
  clearTimeout(timer)
  if (!ended) destroy()
}
