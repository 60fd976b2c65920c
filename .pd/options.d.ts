/**
 * @module
 * Option types, {@link DEFAULTS} and {@link resolveOptions}: the one place defaults live.
 * Options are validated up front; a bad one throws an {@link InvalidOptionError}
 * naming it. Connection URIs are never echoed back (they may hold a password).
 */
import type { PoolOptions } from 'mysql2';
import type { Classifier } from './classify.js';
/**
 * A pino-compatible logger. Every method is optional; each takes `(obj, msg?)` or `(msg)`.
 * Nothing is printed when no logger is given.
 */
export interface Logger {
    debug?: (objOrMsg: unknown, msg?: string) => void;
    info?: (objOrMsg: unknown, msg?: string) => void;
    warn?: (objOrMsg: unknown, msg?: string) => void;
    error?: (objOrMsg: unknown, msg?: string) => void;
}
/** How statements are re-run after a disconnect. Acquisition is always retried, whatever this says. */
export interface RetryOptions {
    /**
     * How many times a read (or a statement marked `idempotent`) is re-run on a fresh
     * connection after a disconnect.
     *
     * @default 2
     */
    retries?: number;
    /**
     * First backoff delay between attempts, in milliseconds (doubles each time, randomised).
     *
     * @default 25
     */
    minTimeoutMs?: number;
    /**
     * Longest backoff delay between attempts, in milliseconds.
     *
     * @default 1000
     */
    maxTimeoutMs?: number;
}
/** Settings that apply to one alias; set them at the top level as defaults for every alias, or per alias. */
export interface AliasOptions {
    /**
     * A connection older than this is replaced when it is next bound to a scope, in milliseconds.
     * Each connection gets up to 2.5% less, at random, so a pool does not expire all at once.
     * `0` turns the limit off.
     *
     * @default 1800000
     */
    maxAgeMs?: number;
    /**
     * Ping a connection idle longer than `aliveBypassMs` before handing it to a scope.
     * Connections idle past the server's own `wait_timeout` are replaced without a ping either way.
     *
     * @default true
     */
    healthCheck?: boolean;
    /**
     * How long a validation ping may take before the connection is destroyed and replaced, in milliseconds.
     *
     * @default 1000
     */
    pingTimeoutMs?: number;
    /**
     * A connection used this recently is trusted without a ping, in milliseconds (HikariCP's alive-bypass window).
     * `0` pings on every entry to a scope (safest, and about half the throughput on a fast network).
     *
     * @default 500
     */
    aliveBypassMs?: number;
    /**
     * Bound on the whole acquisition of a connection for a scope, in milliseconds: waiting for a pool slot,
     * connecting (also through a dead network path), pinging and replacing. On expiry the call rejects
     * with `ERR_LIFESPAN_ACQUIRE_TIMEOUT`.
     *
     * @default 10000
     */
    acquireTimeoutMs?: number;
    /**
     * Re-running of reads and statements marked `idempotent` after a disconnect. `false` turns statement
     * retries off (acquisition is still retried); `true` uses the defaults.
     *
     * @default { retries: 2, minTimeoutMs: 25, maxTimeoutMs: 1000 }
     */
    retry?: boolean | RetryOptions;
    /**
     * How long `shutdown()` waits for open scopes before it interrupts them and kills their
     * connections server-side, in milliseconds.
     *
     * @default 10000
     */
    shutdownTimeoutMs?: number;
    /**
     * When `true`, `db()` outside any scope throws `ERR_LIFESPAN_NO_SCOPE` instead of running the
     * statement in an implicit one-statement scope.
     *
     * @default false
     */
    strict?: boolean;
    /**
     * Longest time one statement may run, in milliseconds; on expiry the statement rejects with
     * `ERR_LIFESPAN_QUERY_TIMEOUT` and its connection is destroyed, never returned to the pool.
     * `0` means no limit (a statement in flight on a silently dropped path then waits for the kernel).
     *
     * @default 0
     */
    queryTimeoutMs?: number;
    /**
     * Warn (through `logger.warn`) when a scope holds a connection longer than this, with the stack
     * where the scope was opened. `0` turns leak detection off.
     *
     * @default 0
     */
    leakWarningMs?: number;
    /**
     * A pino-compatible logger for this alias (or for everything, at the top level).
     *
     * @default undefined
     */
    logger?: Logger;
}
/** One database: a connection URI, or mysql2 pool options plus per-alias {@link AliasOptions}. */
export type DatabaseConfig = string | (PoolOptions & AliasOptions);
/**
 * Options of {@link createLifespan}.
 *
 * @example
 * ```ts
 * createLifespan({
 *   databases: { default: process.env.MYSQL_URL!, replica: { host: 'replica', user: 'app', maxAgeMs: 600_000 } },
 *   acquireTimeoutMs: 5_000,
 * })
 * ```
 */
export interface LifespanOptions extends AliasOptions {
    /** Named databases, like Django's `DATABASES`. `db()` with no argument uses `default` (or the only alias). */
    databases: Record<string, DatabaseConfig>;
    /** Extends the disconnect taxonomy: return a class to override the built-in answer, `undefined` to keep it. */
    classify?: Classifier;
}
/** Defaults of every {@link AliasOptions} option. */
export declare const DEFAULTS: Readonly<{
    maxAgeMs: 1800000;
    healthCheck: true;
    pingTimeoutMs: 1000;
    aliveBypassMs: 500;
    acquireTimeoutMs: 10000;
    retry: Readonly<{
        retries: 2;
        minTimeoutMs: 25;
        maxTimeoutMs: 1000;
    }>;
    shutdownTimeoutMs: 10000;
    strict: false;
    queryTimeoutMs: 0;
    leakWarningMs: 0;
    logger: undefined;
}>;
/** mysql2 defaults this library changes: keepalive probes start after 10 s instead of the kernel's 2 h. */
export declare const MYSQL2_DEFAULTS: Readonly<{
    enableKeepAlive: true;
    keepAliveInitialDelay: 10000;
}>;
/** @internal Options of one alias after defaults and validation. */
export interface ResolvedAliasOptions {
    readonly alias: string;
    readonly maxAgeMs: number;
    readonly healthCheck: boolean;
    readonly pingTimeoutMs: number;
    readonly aliveBypassMs: number;
    readonly acquireTimeoutMs: number;
    readonly retry: Readonly<Required<RetryOptions>> | false;
    readonly shutdownTimeoutMs: number;
    readonly strict: boolean;
    readonly queryTimeoutMs: number;
    readonly leakWarningMs: number;
    readonly logger: Logger | undefined;
    /** What is handed to mysql2's `createPool`. Holds the password: never log it. */
    readonly pool: PoolOptions;
}
/** @internal */
export interface ResolvedOptions {
    readonly aliases: ReadonlyMap<string, ResolvedAliasOptions>;
    readonly defaultAlias: string;
    readonly shutdownTimeoutMs: number;
    readonly logger: Logger | undefined;
    readonly classify: Classifier | undefined;
}
type Dict = Record<string, unknown>;
/**
 * Parses a `mysql://user:password@host:port/database?option=value` URI into mysql2 options.
 * Query parameters are read as JSON where they parse (`?connectionLimit=5`, `?ssl={"rejectUnauthorized":false}`),
 * else as strings. The URI itself never appears in an error: it may hold a password.
 */
export declare function parseUri(path: string, uri: string): Dict;
/**
 * mysql2's connect timeout when none is given: a third of the acquisition budget (1 to 10 s),
 * so a connect attempt stuck on a dead path leaves time for another attempt in the same
 * acquisition once the path recovers, and never outlives the acquisition itself.
 */
export declare function defaultConnectTimeout(acquireTimeoutMs: number): number;
/**
 * Validates user options and applies {@link DEFAULTS}. Never mutates its argument.
 *
 * @throws {InvalidOptionError} naming the first invalid option.
 */
export declare function resolveOptions(options: unknown): ResolvedOptions;
export {};
