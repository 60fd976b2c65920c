/**
 * @module
 * `queryTimeoutMs`: a statement past its time is stopped on the server, not only abandoned by
 * the client. At the deadline a `KILL QUERY` goes out from a short-lived side connection, then
 * the statement's own reply is awaited for a short grace:
 * - the server interrupted it (ER_QUERY_INTERRUPTED, 1317): it rejects with
 *   `ERR_LIFESPAN_QUERY_TIMEOUT`; the statement was rolled back (on transactional tables) and the
 *   connection stays usable;
 * - it finished before the KILL landed: a write resolves with its result (its outcome is known,
 *   and a rejection would invite a second run); a read rejects with `ERR_LIFESPAN_QUERY_TIMEOUT`;
 * - no reply within the grace (a dead path, a server that does not answer): the connection is
 *   destroyed and a write rejects with `ERR_LIFESPAN_QUERY_OUTCOME_UNKNOWN`, a read with
 *   `ERR_LIFESPAN_QUERY_TIMEOUT`.
 */
import type { PoolConnection } from 'mysql2'
import { ErrorCodes, LifespanError } from './errors.js'
import { isReadStatement } from './retry.js'

const ER_QUERY_INTERRUPTED = 1317

/** @internal mysql2's statement callback. */
type Callback = (err: unknown, rows?: unknown, fields?: unknown) => void

/** @internal What the guard needs from its pool. */
export interface TimeoutEnv {
  /** Sends `KILL QUERY <threadId>` from a side connection; resolves whatever happened. */
  killQuery(threadId: number): Promise<unknown>
  /** Destroys a connection whose statement never answered. */
  destroy(conn: PoolConnection): void
  /** How long to wait for the reply after the KILL, in milliseconds. */
  readonly graceMs: number
}

/** @internal Wraps `done` so that the statement on `conn` is stopped server-side after `timeoutMs`. */
export function guardTimeout(conn: PoolConnection, sql: unknown, timeoutMs: number, env: TimeoutEnv, done: Callback): Callback {
  let phase: 'running' | 'stopping' | 'settled' = 'running'
  let grace: NodeJS.Timeout | undefined
  const timer = setTimeout(() => {
    phase = 'stopping'
    const giveUp = (): void => {
      if (phase !== 'stopping') return
      phase = 'settled'
      env.destroy(conn)
      done(isReadStatement(sql) ? timeoutError(timeoutMs, 'unknown') : outcomeUnknown(timeoutMs))
    }
    const threadId = conn.threadId
    if (typeof threadId !== 'number') return giveUp()
    env.killQuery(threadId).then(() => {
      if (phase === 'stopping') grace = setTimeout(giveUp, env.graceMs)
    }, giveUp)
  }, timeoutMs)
  return (err, rows, fields) => {
    if (phase === 'settled') return
    clearTimeout(timer)
    if (grace) clearTimeout(grace)
    const stopping = phase === 'stopping'
    phase = 'settled'
    if (!stopping) return done(err, rows, fields)
    if ((err as { errno?: unknown } | null)?.errno === ER_QUERY_INTERRUPTED) return done(timeoutError(timeoutMs, 'interrupted', err))
    if (err) return done(err)
    if (isReadStatement(sql)) return done(timeoutError(timeoutMs, 'finished'))
    done(null, rows, fields)
  }
}

function timeoutError(timeoutMs: number, how: 'interrupted' | 'finished' | 'unknown', cause?: unknown): LifespanError {
  const what =
    how === 'interrupted'
      ? 'it was stopped on the server (KILL QUERY) and not applied'
      : how === 'finished'
        ? 'it finished on the server while being stopped'
        : 'the server did not answer after KILL QUERY; its connection was destroyed'
  return new LifespanError(`Statement exceeded queryTimeoutMs (${timeoutMs} ms): ${what}.`, { code: ErrorCodes.QUERY_TIMEOUT, cause })
}

function outcomeUnknown(timeoutMs: number): LifespanError {
  return new LifespanError(
    `Statement exceeded queryTimeoutMs (${timeoutMs} ms) and the server did not answer after KILL QUERY: ` +
      'it may or may not have been applied. It was not retried; check the data before trying again.',
    { code: ErrorCodes.QUERY_OUTCOME_UNKNOWN },
  )
}
