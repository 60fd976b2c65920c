/**
 * @module
 * Error classes. Every error the library throws or rejects with carries a stable
 * string `code`; match on `code`, not on messages. mysql2 errors that have a code
 * pass through unchanged; the library only wraps errors that lack one, keeping the
 * original as `cause`.
 */

import type { ErrorClass } from './classify.js'

const kBrand = Symbol.for('mysql-lifespan.error')

/** Every code a {@link LifespanError} can carry. */
export const ErrorCodes = {
  /** An option is missing, of the wrong type or out of range. */
  INVALID_OPTION: 'ERR_LIFESPAN_INVALID_OPTION',
  /** `db(alias)` named an alias that is not in `databases`. */
  UNKNOWN_ALIAS: 'ERR_LIFESPAN_UNKNOWN_ALIAS',
  /** `db()` was used outside any scope while `strict` is on. */
  NO_SCOPE: 'ERR_LIFESPAN_NO_SCOPE',
  /** A scope or statement was refused because shutdown has begun. */
  SHUTTING_DOWN: 'ERR_LIFESPAN_SHUTTING_DOWN',
  /** The lifespan was destroyed, or has stopped. */
  STOPPED: 'ERR_LIFESPAN_STOPPED',
  /** A scope was still running at the shutdown deadline (or at `destroy()`) and was stopped. */
  SCOPE_INTERRUPTED: 'ERR_LIFESPAN_SCOPE_INTERRUPTED',
  /** No validated connection could be had within `acquireTimeoutMs`. */
  ACQUIRE_TIMEOUT: 'ERR_LIFESPAN_ACQUIRE_TIMEOUT',
  /** A validation ping failed or timed out; the connection was destroyed (the cause of an acquisition timeout). */
  PING_FAILED: 'ERR_LIFESPAN_PING_FAILED',
  /**
   * A statement ran longer than `queryTimeoutMs` and was stopped on the server (`KILL QUERY`): not
   * applied. Also a read past its time, whatever became of it.
   */
  QUERY_TIMEOUT: 'ERR_LIFESPAN_QUERY_TIMEOUT',
  /**
   * A write ran longer than `queryTimeoutMs` and the server did not answer after `KILL QUERY`: it may
   * or may not have been applied. Never re-run.
   */
  QUERY_OUTCOME_UNKNOWN: 'ERR_LIFESPAN_QUERY_OUTCOME_UNKNOWN',
  /**
   * A transaction the scope opened with SQL (`BEGIN`, `START TRANSACTION`, `SET autocommit = 0`, an ORM)
   * was lost: its connection died, or a deadlock made the server roll it back. The scope's statements on the alias are
   * refused with this code until it sends `ROLLBACK` (which resolves); `COMMIT` rejects with it.
   */
  TRANSACTION_LOST: 'ERR_LIFESPAN_TRANSACTION_LOST',
  /** A mysql2 error without a code: the connection was already closed. */
  CONNECTION_CLOSED: 'ERR_LIFESPAN_CONNECTION_CLOSED',
  /**
   * The connection died while COMMIT was in flight, or a statement that commits implicitly (DDL,
   * `BEGIN`, `LOCK TABLES`, …) inside a transaction opened with SQL: the transaction may or may not
   * have been applied.
   */
  COMMIT_OUTCOME_UNKNOWN: 'ERR_LIFESPAN_COMMIT_OUTCOME_UNKNOWN',
  /** A transaction handle was used after its transaction ended. */
  TRANSACTION_CLOSED: 'ERR_LIFESPAN_TRANSACTION_CLOSED',
  /** `transaction()` was called inside an open transaction on the same alias. */
  NESTED_TRANSACTION: 'ERR_LIFESPAN_NESTED_TRANSACTION',
  /** One or more `onStartup` / `onShutdown` hooks failed; see `errors`. */
  HOOK_FAILED: 'ERR_LIFESPAN_HOOK_FAILED',
  /** A call is not allowed in the current state (for example `onStartup` after startup). */
  INVALID_STATE: 'ERR_LIFESPAN_INVALID_STATE',
  /** A method got an argument of the wrong kind (for example `scope()` without a function, an undefined bind value). */
  INVALID_ARGUMENT: 'ERR_LIFESPAN_INVALID_ARGUMENT',
  /** A tool asked `lifespan.pool()` / `driver()` for a connection setting the alias cannot honour per statement (`charset`, `flags`, ...). */
  UNSUPPORTED_OPTION: 'ERR_LIFESPAN_UNSUPPORTED_OPTION',
  /** A pool facade (`lifespan.pool()`, `driver().createPool()`) or driver connection was used after its `end()`. */
  FACADE_ENDED: 'ERR_LIFESPAN_FACADE_ENDED',
  /** mysql2 raised an error without a code (for example "Queue limit reached."); the original is the `cause`. */
  DRIVER_ERROR: 'ERR_LIFESPAN_DRIVER_ERROR',
  /** An alias with `hosts` found no writable host within `acquireTimeoutMs` (read-only, not ready or unreachable); the last failure is the `cause`. */
  NO_WRITABLE_HOST: 'ERR_LIFESPAN_NO_WRITABLE_HOST',
} as const

/** A stable error code of this library. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/**
 * Base class of every error this library creates.
 *
 * `instanceof` works across duplicate copies of the package (a `Symbol.for` brand).
 *
 * @example
 * ```ts
 * try { await lifespan.db('nope').query('SELECT 1') }
 * catch (err) { if (err.code === 'ERR_LIFESPAN_UNKNOWN_ALIAS') ... }
 * ```
 */
export class LifespanError extends Error {
  /** Stable machine-readable code, see {@link ErrorCodes}. */
  readonly code: ErrorCode

  constructor(message: string, options: { code: ErrorCode; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = options.code
  }

  /** @internal */
  get [kBrand](): true {
    return true
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== LifespanError) return Function.prototype[Symbol.hasInstance].call(this, value)
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kBrand] === true
  }

  /** Keeps `JSON.stringify(err)` useful (name, code, message) and free of connection details. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message }
  }
}

/** Thrown synchronously by `createLifespan` when an option is invalid. The message names the option. */
export class InvalidOptionError extends LifespanError {
  /** Dotted path of the offending option, for example `databases.replica.maxAgeMs`. */
  readonly option: string
  constructor(option: string, problem: string) {
    super(`Invalid option \`${option}\`: ${problem}`, { code: ErrorCodes.INVALID_OPTION })
    this.option = option
  }
}

/** Pool counts carried by an {@link AcquireTimeoutError}. */
export interface PoolCounts {
  /** Connections open, idle or leased. */
  open: number
  /** Connections leased to scopes. */
  inUse: number
  /** Acquisitions waiting for a connection, this one included. */
  waiting: number
}

/** No validated connection could be had within `acquireTimeoutMs`. `cause` is the last failure seen. */
export class AcquireTimeoutError extends LifespanError {
  /** The alias that could not be served. */
  readonly alias: string
  /** Pool counts at the moment the acquisition gave up. */
  readonly pool: PoolCounts
  constructor(alias: string, timeoutMs: number, pool: PoolCounts, cause?: unknown) {
    const last = cause instanceof Error ? `; last error: ${describe(cause)}` : ''
    super(
      `Could not get a connection for "${alias}" within ${timeoutMs} ms ` +
        `(open=${pool.open}, inUse=${pool.inUse}, waiting=${pool.waiting})${last}`,
      { code: ErrorCodes.ACQUIRE_TIMEOUT, cause },
    )
    this.alias = alias
    this.pool = pool
  }
}

/** The connection was lost while COMMIT was in flight. Whether the transaction was applied is unknown. */
export class CommitOutcomeUnknownError extends LifespanError {
  /** `what`: the statement that was in flight, when it is not COMMIT itself (one that commits implicitly). */
  constructor(cause: unknown, what = 'COMMIT') {
    super(
      `The connection was lost while ${what} was in flight: the transaction may or may not have been applied. ` +
        'It was not retried; check the data before trying again.',
      { code: ErrorCodes.COMMIT_OUTCOME_UNKNOWN, cause },
    )
  }
}

/**
 * A transaction opened with SQL was lost: its connection died, or a deadlock (1213) made the server
 * roll it back. Nothing of it was committed. `cause` is the disconnect or the deadlock.
 */
export class TransactionLostError extends LifespanError {
  /** The alias whose transaction was lost. */
  readonly alias: string
  constructor(alias: string, cause: unknown) {
    super(
      `The transaction on "${alias}" was lost (its connection died, or a deadlock rolled it back): nothing of it was committed. ` +
        'Statements of this scope on the alias are refused until it sends ROLLBACK; COMMIT rejects.',
      { code: ErrorCodes.TRANSACTION_LOST, cause },
    )
    this.alias = alias
  }
}

/** Startup or shutdown hooks failed. Shutdown still completed; each failure is in `errors`. */
export class HookError extends LifespanError {
  /** The failures, in the order the hooks ran. */
  readonly errors: readonly unknown[]
  constructor(phase: 'startup' | 'shutdown', errors: unknown[]) {
    super(`${errors.length} ${phase} hook(s) failed: ${errors.map(describe).join('; ')}`, {
      code: ErrorCodes.HOOK_FAILED,
      cause: errors[0],
    })
    this.errors = errors
  }
}

/**
 * @internal What a statement still in flight on a connection the library closes gets (mysql2 calls
 * back nothing on a connection it was told to destroy): `ERR_LIFESPAN_SCOPE_INTERRUPTED` when its
 * scope was interrupted (shutdown deadline, `destroy()`), else `ERR_LIFESPAN_CONNECTION_CLOSED`.
 * Neither is re-run as a write; whether a write in flight was applied is not known.
 */
export function closedInFlight(reason: string): LifespanError {
  const outcome = 'A write or COMMIT in flight may or may not have been applied; it was not re-run.'
  if (reason === 'interrupted') {
    return new LifespanError(`The statement was stopped: its scope was interrupted and its connection closed (and killed on the server). ${outcome}`, {
      code: ErrorCodes.SCOPE_INTERRUPTED,
    })
  }
  return new LifespanError(`The connection was closed by mysql-lifespan (${reason}) with this statement in flight. ${outcome}`, {
    code: ErrorCodes.CONNECTION_CLOSED,
  })
}

/** @internal The error for a method called with an argument of the wrong kind. */
export function invalidArgument(message: string, cause?: unknown): LifespanError {
  return new LifespanError(message, { code: ErrorCodes.INVALID_ARGUMENT, cause })
}

/** @internal An error the caller can match on: one without a string code gets a library code. */
export function withCode(err: unknown, cls: ErrorClass): unknown {
  if (typeof (err as { code?: unknown } | null)?.code === 'string') return err
  const message = (err as Error | null)?.message ?? String(err)
  if (cls === 'disconnect') {
    return new LifespanError(`The connection is closed: ${message}`, { code: ErrorCodes.CONNECTION_CLOSED, cause: err })
  }
  return new LifespanError(`mysql2 failed without an error code: ${message}`, { code: ErrorCodes.DRIVER_ERROR, cause: err })
}

/** A short, secret-free description of an error: its code and message. */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as { code?: unknown }).code
  return code === undefined ? err.message : `${String(code)}: ${err.message}`
}
