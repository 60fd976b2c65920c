/**
 * @module
 * Causal reads across scopes: a token is the primary's GTID position after a scope's writes;
 * a later scope's reads on a replica first wait (`MASTER_GTID_WAIT`) until the replica has
 * applied it, within a short bound, and otherwise go to the primary. MaxScale's `causal_reads`
 * does the same inside a proxy; here it needs no proxy.
 */
import type { PoolConnection } from 'mysql2'
import { invalidArgument } from '../errors.js'
import type { AliasPool } from '../pool.js'
import { isGtidList } from './gtid.js'

/**
 * Run on the primary (`@` keeps it off the replicas): its whole binlog position, which covers every
 * write committed before it, this scope's included. Not `@@last_gtid`: a pooled connection keeps the
 * GTID of whatever it last wrote, possibly for an earlier scope, and a token older than the caller's
 * write would let a later read miss it. Waiting for other clients' writes too costs a replica that
 * keeps up nothing.
 */
export const CAUSAL_TOKEN_SQL = 'SELECT @@global.gtid_binlog_pos AS token'

/** Validates a token before it reaches SQL; `''` (a primary that wrote nothing yet) is allowed and means "no wait". */
export function checkCausalToken(token: unknown): string {
  if (token === '') return ''
  if (!isGtidList(token)) throw invalidArgument('after(token) expects a token from causalToken() (a GTID list such as "0-1-42")')
  return token.replace(/\s+/g, '')
}

/**
 * Waits on `conn` (a replica's) until it has applied `token`, for at most `timeoutMs`:
 * `reached`, `behind` (timed out; the connection is fine) or `failed` (the connection is not).
 */
export async function waitForToken(pool: AliasPool, conn: PoolConnection, token: string, timeoutMs: number): Promise<'reached' | 'behind' | 'failed'> {
  try {
    const [rows] = await pool.exec(conn, 'query', 'SELECT MASTER_GTID_WAIT(?, ?) AS w', [token, timeoutMs / 1000], timeoutMs + 1_000)
    return Number((rows as Array<{ w: unknown }>)[0]?.w) === 0 ? 'reached' : 'behind'
  } catch {
    return 'failed'
  }
}
