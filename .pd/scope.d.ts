/**
 * @module
 * Scopes: one AsyncLocalStorage frame per unit of work. A scope leases at most one
 * connection per alias, lazily at first use, and gives it back when the scope ends
 * (or destroys it when it broke). Concurrent statements of one scope share its
 * connection; mysql2 runs them one after another.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PoolConnection } from 'mysql2';
import { LifespanError } from './errors.js';
import type { AliasPool, DestroyReason } from './pool.js';
import type { Transaction } from './transaction.js';
/** The kind of a scope: the unit of work it stands for. */
export type ScopeKind = 'startup' | 'task' | 'shutdown';
/** What {@link Lifespan.currentScope} tells about the running scope. */
export interface ScopeInfo {
    /** Process-unique, increasing id. */
    readonly id: number;
    /** What the scope stands for. */
    readonly kind: ScopeKind;
    /** `Date.now()` when the scope opened. */
    readonly startedAt: number;
}
/** @internal What the AsyncLocalStorage holds: the scope, plus the transactions open in this async context. */
export interface Context {
    readonly frame: Frame;
    readonly txs: ReadonlyMap<string, Transaction> | undefined;
}
/** @internal */
export declare const storage: AsyncLocalStorage<Context>;
/** @internal A connection leased to a scope for one alias. */
export declare class Lease {
    readonly pool: AliasPool;
    private readonly frame;
    private conn;
    /** Set while the connection is being acquired: everyone who asked for it meanwhile. */
    private waiters;
    /** Set while a transaction owns the connection: other statements of the scope wait for it. */
    private txDone;
    private leakTimer;
    /** Statements (or transactions) running on the connection right now. */
    private inFlight;
    /** The scope ended while statements were still running: give the connection back after the last one. */
    private endPending;
    constructor(pool: AliasPool, frame: Frame);
    /**
     * Calls `done` with the scope's connection for this alias, acquiring and validating it on
     * first use. Callbacks rather than promises: this runs for every scope.
     */
    withConnection(done: (err: unknown, conn?: PoolConnection) => void): void;
    /** {@link Lease.withConnection} as a promise (transactions). */
    connection(): Promise<PoolConnection>;
    /** Gives up `conn` after it broke; the next statement gets a fresh connection. */
    discard(conn: PoolConnection, reason: DestroyReason): void;
    /** Makes a transaction the only user of the connection until `release()` is called. */
    lockForTransaction(): () => void;
    /**
     * Marks work running on the connection; call the returned function when it settles.
     * A connection is never handed to another scope while a statement of this one is in flight.
     */
    hold(): () => void;
    /**
     * Ends the lease: the connection goes back to the pool (or is destroyed when `reason` is given).
     * Synchronous unless an acquisition is still under way, then a promise of its end.
     */
    end(reason?: DestroyReason): Promise<void> | undefined;
    private giveBack;
    private watchForLeak;
}
/** @internal One scope. */
export declare class Frame implements ScopeInfo {
    readonly id: number;
    readonly kind: ScopeKind;
    readonly startedAt: number;
    readonly context: Context;
    /** Where the scope was opened; captured only when leak detection is on. */
    readonly stack: string | undefined;
    /** Position in {@link ActiveScopes} while open; -1 otherwise. */
    slot: number;
    /** The lease of the first alias used: most scopes use one alias, and need no Map. */
    private firstLease;
    /** Leases of further aliases. */
    private leases;
    private settle;
    interruption: LifespanError | undefined;
    /** The scope has ended; statements still made from its async context get a scope of their own. */
    closed: boolean;
    constructor(kind: ScopeKind, captureStack: boolean);
    /**
     * Runs `fn` in this scope. When `fn` settles (or the scope is interrupted) the leases end,
     * `onClosed` is told, and only then does the returned promise settle.
     */
    run<T>(fn: () => T | Promise<T>, onClosed: (frame: Frame) => void): Promise<T>;
    /** The lease of `pool`'s alias in this scope, created on first use. */
    lease(pool: AliasPool): Lease;
    /** Stops the scope: its promise rejects with `error` (its connections destroyed); later statements in it reject too. */
    interrupt(error: LifespanError): void;
    /** Gives every leased connection back (or destroys them when the scope was interrupted). */
    private close;
}
/**
 * @internal The scopes open right now. An array with swap-remove, not a Set: a Set that gains and
 * loses a member on every scope rehashes often, and V8 links each discarded table to its successor
 * (for live iterators). Once one discarded table reached the old generation, that chain kept every
 * later scope alive through each young-generation GC: about 500 bytes promoted per scope and
 * scavenges ten times longer (benchmarks/RESULTS.md, hot path).
 */
export declare class ActiveScopes {
    #private;
    /** How many scopes are open. */
    get size(): number;
    add(frame: Frame): void;
    /** Removes `frame`; false when it was not open. */
    delete(frame: Frame): boolean;
    /** A copy of the open scopes (safe to iterate while they close), without `except`. */
    list(except?: Frame): Frame[];
}
/** @internal The error a scope gets when it is stopped at a shutdown deadline or by `destroy()`. */
export declare function interruptedError(why: string): LifespanError;
