import type { PoolConnection } from 'mysql2';
import { type ErrorClass } from './classify.js';
import type { ResolvedAliasOptions } from './options.js';
/** Why a connection was destroyed rather than returned to the pool. */
export type DestroyReason = 'maxAge' | 'idle' | 'ping' | 'broken' | 'timeout' | 'interrupted' | 'shutdown';
/** Counters of one alias, as reported by `stats()`. */
export interface AliasStats {
    /** Connections open (idle or leased). */
    open: number;
    /** Open connections not leased to a scope. */
    idle: number;
    /** Connections leased to scopes. */
    inUse: number;
    /** Acquisitions under way (waiting for a slot, connecting or validating). */
    waiting: number;
    /** Connections created since startup. */
    created: number;
    /** Connections destroyed, by reason. */
    destroyed: Record<DestroyReason, number>;
    /** Connections checked on entry to a scope. */
    validations: number;
    /** Validation pings sent. */
    pings: number;
    /** Validation pings that failed or timed out. */
    pingFailures: number;
    /** Statements and transactions re-run after a disconnect, deadlock or lock-wait timeout. */
    retries: number;
    /** Acquisitions that gave up after `acquireTimeoutMs`. */
    acquireTimeouts: number;
}
/** How long before the server's own idle limit a connection stops being trusted. */
export declare function idleLimitFromWaitTimeout(waitTimeoutSeconds: number): number | undefined;
/** @internal Pool of one alias. */
export declare class AliasPool {
    readonly options: ResolvedAliasOptions;
    readonly alias: string;
    private readonly pool;
    private readonly classify;
    private readonly meta;
    private readonly open;
    /**
     * Connections leased to scopes: a flag in each one's metadata and a count, not a Set. A Set
     * that gains and loses a member on every scope keeps discarded tables chained to each other,
     * which kept every scope's garbage alive through young-generation GCs (see ActiveScopes).
     */
    private leasedCount;
    private epoch;
    private closed;
    /** The last reason a connection was refused, for the cause of an acquisition timeout. */
    private lastFailure;
    /**
     * The async context the pool was created in. A socket keeps the AsyncLocalStorage stores of
     * the code that opened it for as long as it lives; opening (and replacing) sockets from here
     * keeps a request's scope, and any other store of the caller, from being pinned by a pooled
     * connection for its whole life.
     */
    private readonly home;
    private waiting;
    /** Deadlines of checkouts waiting in mysql2's queue, under one timer. */
    private readonly deadlines;
    private readonly counters;
    constructor(options: ResolvedAliasOptions, classify: (error: unknown) => ErrorClass);
    private get logger();
    /** Records a new connection. mysql2 listens for only one `'error'`; ours keeps a second from crashing the process. */
    private adopt;
    /** The first disconnect makes every connection of an older generation suspect: pinged on next use. */
    suspectAll(): void;
    /** Counts a re-run statement or transaction. */
    countRetry(): void;
    /**
     * Gets a validated connection within `acquireTimeoutMs` and calls `done` once with it or with
     * the failure. Stale connections are replaced without delay; connect failures that a retry can
     * fix are retried with backoff; anything else (wrong password, unknown database) fails at once
     * with mysql2's error. The failure at the deadline is an {@link AcquireTimeoutError} with the
     * last cause. Callbacks, not promises: on Node 20 every promise also pays for AsyncLocalStorage's
     * hooks, and this runs for every scope.
     */
    acquireWith(done: (err: unknown, conn?: PoolConnection) => void): void;
    /** {@link AliasPool.acquireWith} as a promise. */
    acquire(): Promise<PoolConnection>;
    private shouldRetryConnect;
    private toAcquireError;
    /** Checks out connections until one passes validation; fails on a checkout error or at the deadline. */
    private attempt;
    private checkout;
    /**
     * Validation on entry: `true`, `false` (the connection was destroyed), or a promise of either
     * when a round trip is needed. Synchronous in the common case: no promise for a trusted connection.
     */
    private validate;
    private pingCheck;
    /** A new connection: read the server's idle limit for this session (it also proves the connection works). */
    private readIdleLimit;
    private ping;
    /**
     * Runs one statement on `conn` and calls `done` once. With a timeout, an expired statement
     * destroys the connection (mysql2's own `timeout` leaves it wedged) and fails with
     * `ERR_LIFESPAN_QUERY_TIMEOUT`.
     */
    send(conn: PoolConnection, method: 'query' | 'execute', sql: unknown, values: unknown, done: (err: unknown, result?: [unknown, unknown]) => void, timeoutMs?: number): void;
    /** {@link AliasPool.send} as a promise. */
    exec(conn: PoolConnection, method: 'query' | 'execute', sql: unknown, values: unknown, timeoutMs?: number): Promise<[unknown, unknown]>;
    private markLeased;
    /** Clears the leased flag; false when `conn` was not leased. */
    private unlease;
    private leasedConnections;
    /** Returns a healthy connection to the pool. */
    release(conn: PoolConnection): void;
    /** Destroys a connection (socket closed, slot freed for the next waiter). Safe to call twice. */
    destroy(conn: PoolConnection, reason: DestroyReason): void;
    /** Server-side ids of connections leased to scopes right now. */
    leasedThreadIds(): number[];
    /** Destroys every leased connection (after they were killed server-side at a shutdown deadline). */
    destroyLeased(reason: DestroyReason): void;
    /**
     * Ends every connection with COM_QUIT, waiting at most `timeoutMs`; whatever has not
     * closed by then is destroyed. Returns the thread ids that had to be destroyed.
     */
    end(timeoutMs: number): Promise<number[]>;
    /** Abrupt: closes every socket now. */
    destroyAll(reason: DestroyReason): void;
    /** Open, in use and waiting counts (for error messages). */
    counts(): {
        open: number;
        inUse: number;
        waiting: number;
    };
    /** A snapshot of this alias's counters. */
    stats(): AliasStats;
}
