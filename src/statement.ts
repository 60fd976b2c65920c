/**
 * @module
 * The path of one statement on a scope's lease: get the validated connection, send, classify a
 * failure, and re-run it on a fresh connection only when that cannot change the outcome. Shared
 * by `db()` and the mysql2-compatible facades, so both keep the same promises.
 *
 * Whether a statement ran inside a transaction comes from the server's status flags (see
 * connection-state.ts), never from the SQL: a statement that was in a transaction is never re-run
 * elsewhere, and when its connection dies the transaction is lost for the scope (see
 * {@link Lease.markLost}) so that nothing of it autocommits on another connection.
 */
import { type ErrorClass, isConnectionBroken } from './classify.js'
import { CommitOutcomeUnknownError, ErrorCodes, withCode } from './errors.js'
import type { PoolConnection } from 'mysql2'
import type { SessionState } from './connection-state.js'
import type { StatementCallback } from './pool.js'
import { publishRetry } from './observe/channels.js'
import { judgeError } from './refusal.js'
import { canRerun, retrying, sqlText, type StatementOptions } from './retry.js'
import { fitZone, hasZone } from './session-zone.js'
import { sqlBody } from './sql-code.js'
import type { Lease } from './scope.js'

const ER_LOCK_DEADLOCK = 1213

/** @internal */
export type Method = 'query' | 'execute'

/** @internal One statement as the caller gave it. */
export interface Statement {
  readonly method: Method
  readonly sql: unknown
  readonly values: unknown
  readonly options: StatementOptions | undefined
  /** The session time zone the statement expects (src/session-zone.ts); `undefined`: the handshake's. */
  readonly zone?: string | undefined
}

/**
 * @internal Runs one statement on `lease` and calls `done` once with mysql2's `(err, rows, fields)`.
 * Callbacks, not promises: this runs for every statement.
 */
export function runStatement(lease: Lease, classify: (error: unknown) => ErrorClass, statement: Statement, done: StatementCallback): void {
  if (lease.lost) return settleLost(lease, statement.sql, done)
  attempt(lease, classify, statement, true, done)
}

/**
 * A statement after the scope's transaction was lost: ROLLBACK acknowledges it and resolves, as it
 * would have on the server; COMMIT rejects with the loss (nothing was committed) and acknowledges it
 * too; anything else rejects and leaves the scope refused.
 */
function settleLost(lease: Lease, sql: unknown, done: StatementCallback): void {
  const lost = lease.lost
  const end = transactionEnd(sql)
  if (end !== undefined) lease.clearLost()
  if (end === 'rollback') return done(null, { fieldCount: 0, affectedRows: 0, insertId: 0, info: '', serverStatus: 2, warningStatus: 0, changedRows: 0 }, undefined)
  done(lost)
}

const ROLLBACK = /^rollback(?:\s+work)?(?:\s+and\s+(?:no\s+)?chain)?(?:\s+(?:no\s+)?release)?\s*;?\s*$/i
const COMMIT = /^commit\b/i

/**
 * Statements that commit the open transaction before they run (MySQL's and MariaDB's "implicit
 * commit"): DDL other than on temporary tables, account statements, BEGIN, LOCK/UNLOCK TABLES,
 * turning autocommit on, table maintenance, FLUSH and RESET.
 */
const COMMITS_IMPLICITLY =
  /^(?:begin\b|start\s+transaction\b|(?:create|alter|drop|rename|truncate)\s+(?!temporary\b)|grant\b|revoke\b|(?:lock|unlock)\s+tables?\b|set\s+(?:@@(?:session\.)?|session\s+|local\s+)?autocommit\s*=\s*(?:1|on|true)\b|set\s+password\b|(?:analyze|optimize|repair|check)\s+tables?\b|(?:cache|load)\s+index\b|flush\b|reset\b)/i

/** Whether `sql`, sent inside a transaction, commits it first (see {@link COMMITS_IMPLICITLY}). */
function commitsImplicitly(sql: unknown): boolean {
  const text = sqlText(sql)
  return text !== undefined && COMMITS_IMPLICITLY.test(sqlBody(text).code)
}

function transactionEnd(sql: unknown): 'rollback' | 'commit' | undefined {
  const raw = sqlText(sql)
  if (raw === undefined) return undefined
  const text = sqlBody(raw).code
  if (ROLLBACK.test(text)) return 'rollback'
  if (COMMIT.test(text)) return 'commit'
  return undefined
}

// The common paths below make no closure: a function that makes one, even on a branch not taken,
// allocates a context for its captured arguments on every call. The closures are in functions of
// their own (acquireThen, fitZoneThen), called only when needed.

/** One try of a statement: the scope's connection, the statement's time zone on it, then the statement. */
function attempt(lease: Lease, classify: (error: unknown) => ErrorClass, statement: Statement, first: boolean, done: StatementCallback): void {
  // The scope's connection is usually at hand: no callback to make for it.
  const ready = lease.ready
  if (ready) return onConnection(lease, classify, statement, first, ready, done)
  acquireThen(lease, classify, statement, first, done)
}

/** The scope has no connection at hand: acquire (or wait for) it, then go on. */
function acquireThen(lease: Lease, classify: (error: unknown) => ErrorClass, statement: Statement, first: boolean, done: StatementCallback): void {
  lease.withConnection((err, conn) => {
    if (!conn) return done(err)
    onConnection(lease, classify, statement, first, conn, done)
  })
}

/** The statement's connection is known: put the statement's time zone on it, then send. */
function onConnection(lease: Lease, classify: (error: unknown) => ErrorClass, statement: Statement, first: boolean, conn: PoolConnection, done: StatementCallback): void {
  const session = lease.pool.session(conn)
  // The common case (no tool zone on either side) is one compare.
  if (session?.zone === statement.zone || hasZone(lease.pool, conn, statement.zone)) return send(lease, classify, statement, first, conn, session, done)
  fitZoneThen(lease, classify, statement, first, conn, session, done)
}

/** The connection's session time zone is not the statement's: set it, then send (or judge the failure). */
function fitZoneThen(
  lease: Lease,
  classify: (error: unknown) => ErrorClass,
  statement: Statement,
  first: boolean,
  conn: PoolConnection,
  session: SessionState | undefined,
  done: StatementCallback,
): void {
  lease.hold()
  fitZone(lease.pool, conn, statement.zone, (e) => {
    lease.unhold()
    if (!e) return send(lease, classify, statement, first, conn, session, done)
    const cls = classify(e)
    const error = withCode(e, cls)
    if (isConnectionBroken(cls)) {
      const inTransaction = lease.pool.inTransaction(conn)
      lease.broke(conn, inTransaction, error)
      // The statement was not sent: on another connection it cannot be doubled.
      if (!inTransaction && first && lease.pool.options.retry) return attempt(lease, classify, statement, false, done)
    }
    done(error)
  })
}

/** Sends the statement on `conn` and judges a failure. */
function send(lease: Lease, classify: (error: unknown) => ErrorClass, statement: Statement, first: boolean, conn: PoolConnection, session: SessionState | undefined, done: StatementCallback): void {
  const { pool } = lease
  const { method, sql, values } = statement
  const inTransaction = session?.inTransaction === true
  lease.hold()
  pool.send(conn, method, sql, values, (failure, rows, fields) => {
    if (!failure) {
      lease.unhold()
      if (!inTransaction && session !== undefined && opened(session)) lease.openedBy = sqlText(sql)?.slice(0, 200)
      return done(null, rows, fields)
    }
    // A read-only error may need a question on this connection: it stays held until judged.
    judgeError(failure, classify, pool, conn, false, (cls) => {
      lease.unhold()
      failed(lease, classify, statement, { conn, inTransaction, first, failure, cls }, done)
    })
  })
}

interface Failure {
  readonly conn: PoolConnection
  /** The connection was inside a transaction when the statement was sent. */
  readonly inTransaction: boolean
  readonly first: boolean
  readonly failure: unknown
  /** The failure's class, read-only errors judged (refusal.ts). */
  readonly cls: ErrorClass
}

/** What a failed statement means for its connection, its scope's transaction, and whether it runs again. */
function failed(lease: Lease, classify: (error: unknown) => ErrorClass, statement: Statement, f: Failure, done: StatementCallback): void {
  const { pool } = lease
  const { sql } = statement
  const { conn, inTransaction, cls } = f
  const error = withCode(f.failure, cls)
  if (isConnectionBroken(cls) || !pool.owns(conn)) {
    // COMMIT cut off, or a statement that commits implicitly (DDL, BEGIN, …): the transaction ended,
    // but whether it was applied is unknown.
    const end = inTransaction && isConnectionBroken(cls) ? transactionEnd(sql) : undefined
    const commitCut = end === 'commit' || (inTransaction && isConnectionBroken(cls) && end === undefined && commitsImplicitly(sql))
    // Otherwise a transaction died with the connection; the scope must not carry on without it.
    lease.broke(conn, inTransaction && !commitCut, error)
    if (commitCut) return done(new CommitOutcomeUnknownError(error, end === 'commit' ? 'COMMIT' : 'a statement that commits implicitly'))
  }
  // A deadlock rolled the whole transaction back on the server: what the scope sends next would autocommit.
  if (inTransaction && (f.failure as { errno?: unknown }).errno === ER_LOCK_DEADLOCK && transactionEnd(sql) === undefined) lease.markLost(error)
  const policy = pool.options.retry
  if (!f.first || inTransaction || !policy || policy.retries === 0 || !rerunnable(classify, error, statement)) return done(error)
  pool.countRetry()
  publishRetry('statement', pool.alias, error)
  retrying(
    () => new Promise<[unknown, unknown]>((resolve, reject) => attempt(lease, classify, statement, false, (e, r, fields) => (e ? reject(e) : resolve([r, fields])))),
    { ...policy, retries: policy.retries - 1 },
    (e) => rerunnable(classify, e, statement),
    (e) => {
      pool.countRetry()
      publishRetry('statement', pool.alias, e)
    },
  ).then(([r, fields]) => done(null, r, fields), (e: unknown) => done(e))
}

/** Read through a function: TypeScript would keep the value narrowed from before the reply. */
function opened(session: SessionState): boolean {
  return session.inTransaction
}

function rerunnable(classify: (error: unknown) => ErrorClass, err: unknown, statement: Statement): boolean {
  // A statement that ran out of time (ours or mysql2's per-query `timeout`) would most likely do so again.
  const code = (err as { code?: unknown } | null)?.code
  if (code === ErrorCodes.QUERY_TIMEOUT || code === ErrorCodes.QUERY_OUTCOME_UNKNOWN || code === 'PROTOCOL_SEQUENCE_TIMEOUT') return false
  const cls = classify(err)
  // The server became read-only (judged by refusal.ts): the statement was not applied, running it again cannot double it.
  if (cls === 'read-only') return true
  return cls === 'disconnect' && canRerun(statement.sql, statement.options)
}
