/**
 * @module
 * Error classes. Every error the library throws or rejects with carries a stable
 * string `code`; match on `code`, not on messages. mysql2 errors that have a code
 * pass through unchanged; the library only wraps errors that lack one, keeping the
 * original as `cause`.
 */
import type { ErrorClass } from './classify.js';
declare const kBrand: unique symbol;
/** Every code a {@link LifespanError} can carry. */
export declare const ErrorCodes: {
    /** An option is missing, of the wrong type or out of range. */
    readonly INVALID_OPTION: "ERR_LIFESPAN_INVALID_OPTION";
    /** `db(alias)` named an alias that is not in `databases`. */
    readonly UNKNOWN_ALIAS: "ERR_LIFESPAN_UNKNOWN_ALIAS";
    /** `db()` was used outside any scope while `strict` is on. */
    readonly NO_SCOPE: "ERR_LIFESPAN_NO_SCOPE";
    /** A scope or statement was refused because shutdown has begun. */
    readonly SHUTTING_DOWN: "ERR_LIFESPAN_SHUTTING_DOWN";
    /** The lifespan was destroyed, or has stopped. */
    readonly STOPPED: "ERR_LIFESPAN_STOPPED";
    /** A scope was still running at the shutdown deadline (or at `destroy()`) and was stopped. */
    readonly SCOPE_INTERRUPTED: "ERR_LIFESPAN_SCOPE_INTERRUPTED";
    /** No validated connection could be had within `acquireTimeoutMs`. */
    readonly ACQUIRE_TIMEOUT: "ERR_LIFESPAN_ACQUIRE_TIMEOUT";
    /** A validation ping failed or timed out; the connection was destroyed (the cause of an acquisition timeout). */
    readonly PING_FAILED: "ERR_LIFESPAN_PING_FAILED";
    /** A statement ran longer than `queryTimeoutMs`; its connection was destroyed. */
    readonly QUERY_TIMEOUT: "ERR_LIFESPAN_QUERY_TIMEOUT";
    /** A mysql2 error without a code: the connection was already closed. */
    readonly CONNECTION_CLOSED: "ERR_LIFESPAN_CONNECTION_CLOSED";
    /** The connection died while COMMIT was in flight: the transaction may or may not have been applied. */
    readonly COMMIT_OUTCOME_UNKNOWN: "ERR_LIFESPAN_COMMIT_OUTCOME_UNKNOWN";
    /** A transaction handle was used after its transaction ended. */
    readonly TRANSACTION_CLOSED: "ERR_LIFESPAN_TRANSACTION_CLOSED";
    /** `transaction()` was called inside an open transaction on the same alias. */
    readonly NESTED_TRANSACTION: "ERR_LIFESPAN_NESTED_TRANSACTION";
    /** `shutdown()` was awaited from inside a scope, which would wait for itself. */
    readonly SHUTDOWN_IN_SCOPE: "ERR_LIFESPAN_SHUTDOWN_IN_SCOPE";
    /** One or more `onStartup` / `onShutdown` hooks failed; see `errors`. */
    readonly HOOK_FAILED: "ERR_LIFESPAN_HOOK_FAILED";
    /** A call is not allowed in the current state (for example `onStartup` after startup). */
    readonly INVALID_STATE: "ERR_LIFESPAN_INVALID_STATE";
    /** A method got an argument of the wrong kind (for example `scope()` without a function, an undefined bind value). */
    readonly INVALID_ARGUMENT: "ERR_LIFESPAN_INVALID_ARGUMENT";
    /** mysql2 raised an error without a code (for example "Queue limit reached."); the original is the `cause`. */
    readonly DRIVER_ERROR: "ERR_LIFESPAN_DRIVER_ERROR";
};
/** A stable error code of this library. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
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
export declare class LifespanError extends Error {
    /** Stable machine-readable code, see {@link ErrorCodes}. */
    readonly code: ErrorCode;
    constructor(message: string, options: {
        code: ErrorCode;
        cause?: unknown;
    });
    /** @internal */
    get [kBrand](): true;
    static [Symbol.hasInstance](value: unknown): boolean;
    /** Keeps `JSON.stringify(err)` useful (name, code, message) and free of connection details. */
    toJSON(): Record<string, unknown>;
}
/** Thrown synchronously by `createLifespan` when an option is invalid. The message names the option. */
export declare class InvalidOptionError extends LifespanError {
    /** Dotted path of the offending option, for example `databases.replica.maxAgeMs`. */
    readonly option: string;
    constructor(option: string, problem: string);
}
/** Pool counts carried by an {@link AcquireTimeoutError}. */
export interface PoolCounts {
    /** Connections open, idle or leased. */
    open: number;
    /** Connections leased to scopes. */
    inUse: number;
    /** Acquisitions waiting for a connection, this one included. */
    waiting: number;
}
/** No validated connection could be had within `acquireTimeoutMs`. `cause` is the last failure seen. */
export declare class AcquireTimeoutError extends LifespanError {
    /** The alias that could not be served. */
    readonly alias: string;
    /** Pool counts at the moment the acquisition gave up. */
    readonly pool: PoolCounts;
    constructor(alias: string, timeoutMs: number, pool: PoolCounts, cause?: unknown);
}
/** The connection was lost while COMMIT was in flight. Whether the transaction was applied is unknown. */
export declare class CommitOutcomeUnknownError extends LifespanError {
    constructor(cause: unknown);
}
/** Startup or shutdown hooks failed. Shutdown still completed; each failure is in `errors`. */
export declare class HookError extends LifespanError {
    /** The failures, in the order the hooks ran. */
    readonly errors: readonly unknown[];
    constructor(phase: 'startup' | 'shutdown', errors: unknown[]);
}
/** @internal The error for a method called with an argument of the wrong kind. */
export declare function invalidArgument(message: string, cause?: unknown): LifespanError;
/** @internal An error the caller can match on: one without a string code gets a library code. */
export declare function withCode(err: unknown, cls: ErrorClass): unknown;
/** A short, secret-free description of an error: its code and message. */
export declare function describe(err: unknown): string;
export {};
