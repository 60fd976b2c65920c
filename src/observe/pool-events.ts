/**
 * @module
 * @internal
 * The pool's publications: one call per event in src/pool.ts, each a no-op (no message built)
 * while its channel has no subscriber.
 */
import type { PoolConnection } from 'mysql2'
import type { AliasPool, ConnectionCallback, DestroyReason } from '../pool.js'
import { storage } from '../scope.js'
import {
  acquire,
  type AcquireAttemptFailedMessage,
  type AcquireContext,
  acquireAttemptFailed,
  type ConnectionCreateMessage,
  type ConnectionDestroyMessage,
  connectionCreate,
  connectionDestroy,
  connectionRelease,
  type ConnectionReleaseMessage,
  validation,
  type ValidationMessage,
} from './channels.js'

export { acquire, connectionRelease as release }

function target(pool: AliasPool): { host: string | undefined; port: number | undefined } {
  const { host, port, socketPath } = pool.options.pool
  return { host: socketPath ?? host ?? 'localhost', port: socketPath ? undefined : (port ?? 3306) }
}

function threadId(conn: PoolConnection): number | undefined {
  return typeof conn.threadId === 'number' ? conn.threadId : undefined
}

/**
 * @internal Runs one acquisition through the `mysql-lifespan:acquire` TracingChannel: `start`/`end`
 * around the call, then `error` (on failure), `asyncStart`, the callback, `asyncEnd`. Stores bound to
 * `start` and `asyncStart` are entered around the call and the callback (`runStores`).
 */
export function traceAcquire(pool: AliasPool, done: ConnectionCallback, run: (cb: ConnectionCallback) => void): void {
  const ctx: AcquireContext = { alias: pool.alias, ...target(pool), scopeId: storage.getStore()?.frame.id }
  const started = Date.now()
  let attempts = 0
  const callback: ConnectionCallback = (err, conn) => {
    if (attempts++ > 0) return
    ctx.waitMs = Date.now() - started
    if (conn) ctx.threadId = threadId(conn)
    if (err) {
      ctx.error = err
      acquire.error.publish(ctx)
    }
    try {
      acquire.asyncStart.runStores(ctx, done, undefined, err, conn)
    } finally {
      acquire.asyncEnd.publish(ctx)
    }
  }
  try {
    acquire.start.runStores(ctx, run, undefined, callback)
  } finally {
    acquire.end.publish(ctx)
  }
}

/** @internal */
export function attemptFailed(pool: AliasPool, error: unknown): void {
  if (!acquireAttemptFailed.hasSubscribers) return
  acquireAttemptFailed.publish({ alias: pool.alias, ...target(pool), error } satisfies AcquireAttemptFailedMessage)
}

/** @internal */
export function created(pool: AliasPool, conn: PoolConnection, createMs: number | undefined): void {
  if (!connectionCreate.hasSubscribers) return
  connectionCreate.publish({ alias: pool.alias, threadId: threadId(conn), ...target(pool), createMs } satisfies ConnectionCreateMessage)
}

/** @internal */
export function destroyed(pool: AliasPool, conn: PoolConnection, reason: DestroyReason, createdAt: number | undefined): void {
  if (!connectionDestroy.hasSubscribers) return
  const ageMs = createdAt === undefined ? undefined : Date.now() - createdAt
  connectionDestroy.publish({ alias: pool.alias, threadId: threadId(conn), reason, ageMs } satisfies ConnectionDestroyMessage)
}

/** @internal A lease ended; `m.leasedAt` is cleared. */
export function released(pool: AliasPool, conn: PoolConnection, m: { leasedAt?: number }): void {
  const heldMs = Date.now() - (m.leasedAt as number)
  m.leasedAt = undefined
  if (connectionRelease.hasSubscribers) connectionRelease.publish({ alias: pool.alias, threadId: threadId(conn), heldMs } satisfies ConnectionReleaseMessage)
}

/** @internal */
export function validated(pool: AliasPool, conn: PoolConnection, check: ValidationMessage['check'], ok: boolean, startedAt: number, error?: unknown): void {
  if (!validation.hasSubscribers) return
  const msg: ValidationMessage = { alias: pool.alias, threadId: threadId(conn), check, ok, durationMs: Date.now() - startedAt }
  if (error !== undefined) msg.error = error
  validation.publish(msg)
}
