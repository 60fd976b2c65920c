/**
 * @module
 * The shapes one alias's pool shares with its checkout and its callers: counters, destroy reasons,
 * what is known of each connection, and the mysql2 internals the checkout reads.
 */
import type { PoolConnection } from 'mysql2'
import { type SessionState } from './connection-state.js'
import type { SessionBaseline } from './session.js'
import type { HostStats } from './topology/host.js'

/** Why a connection was destroyed rather than returned to the pool. */
export type DestroyReason = 'maxAge' | 'idle' | 'ping' | 'broken' | 'timeout' | 'interrupted' | 'shutdown' | 'reset'

/** Counters of one alias, as reported by `stats()`. */
export interface AliasStats {
  /** Connections open (idle or leased). */
  open: number
  /** Open connections not leased to a scope. */
  idle: number
  /** Connections leased to scopes. */
  inUse: number
  /** Acquisitions under way (waiting for a slot, connecting or validating). */
  waiting: number
  /** Connections created since startup. */
  created: number
  /** Connections destroyed, by reason. */
  destroyed: Record<DestroyReason, number>
  /** Connections checked on entry to a scope. */
  validations: number
  /** Validation pings sent. */
  pings: number
  /** Validation pings that failed or timed out. */
  pingFailures: number
  /** Statements and transactions re-run after a disconnect, deadlock or lock-wait timeout. */
  retries: number
  /** Acquisitions that gave up after `acquireTimeoutMs`. */
  acquireTimeouts: number
  /** Connections rolled back because a scope gave them back inside a transaction. */
  rollbacks: number
  /** Sessions reset (COM_RESET_CONNECTION and the handshake's settings) because a scope changed them. */
  resets: number
  /** The most connections the alias may open (mysql2's `connectionLimit`; 0 = no limit). */
  max: number
  /** Per host (`host:port`), for an alias with `hosts` or `replicas`; the counters above are their sums. */
  hosts?: Record<string, HostStats>
}

/** @internal What the pool knows of one connection. */
export interface ConnectionMeta {
  /** The pool that opened the connection (connection-meta.ts). */
  readonly owner: object
  createdAt: number
  lastUsedAt: number
  /** This connection's max age, with jitter; 0 = none. */
  maxAgeMs: number
  /** Idle time after which the server has (or is about to have) closed the session; undefined until read. */
  idleLimitMs: number | undefined
  /** What the server's replies say about the session. */
  readonly session: SessionState
  /** The session after the handshake, read with the idle limit; undefined until then. */
  baseline: SessionBaseline | undefined
  /** Generation at the last validation; older than the pool's means suspect. */
  epoch: number
  /** Leased to a scope right now. */
  leased: boolean
  /** When it was leased; only kept while someone listens to connection releases. */
  leasedAt?: number
}

/** @internal Called once with a connection or with the reason there is none. */
export type ConnectionCallback = (err: unknown, conn?: PoolConnection) => void

/** @internal mysql2's statement callback. */
export type StatementCallback = (err: unknown, rows?: unknown, fields?: unknown) => void

/** What mysql2's pool keeps that the checkout reads (mysql2 3.x; not in its typings). */
export interface MysqlPoolInternals {
  _freeConnections: { length: number }
  _allConnections: { length: number }
  _closed?: boolean
  config: { connectionLimit: number }
}

/** How long before the server's own idle limit a connection stops being trusted. */
export function idleLimitFromWaitTimeout(waitTimeoutSeconds: number): number | undefined {
  if (!Number.isFinite(waitTimeoutSeconds) || waitTimeoutSeconds <= 0) return undefined
  const ms = waitTimeoutSeconds * 1000
  const margin = Math.min(5_000, Math.max(500, ms * 0.1))
  return Math.max(0, ms - margin)
}

/** A connection goes back to the pool only outside a transaction and with its baseline session. */
export function needsCleaning(m: ConnectionMeta): boolean {
  if (m.baseline === undefined) return false
  return m.session.inTransaction || m.session.dirty || !m.baseline.tracked
}

/** The server-side ids of `connections`. */
export function threadIds(connections: Iterable<PoolConnection>): number[] {
  return [...connections].map((c) => c.threadId).filter((id): id is number => typeof id === 'number')
}
