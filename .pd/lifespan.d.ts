import { Database } from './database.js';
import { type LifespanOptions } from './options.js';
import { type AliasStats } from './pool.js';
import { type RunOptions } from './run.js';
import { type ScopeInfo, type ScopeKind } from './scope.js';
/** Lifecycle state of a {@link Lifespan}. */
export type LifespanState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';
/** Options of {@link Lifespan.scope}. */
export interface ScopeOptions {
    /**
     * What the scope stands for.
     *
     * @default 'task'
     */
    kind?: ScopeKind;
    /**
     * Inside another scope: `'join'` runs `fn` in it (same connection, same transaction context);
     * `'new'` opens a scope of its own. Adapters use `'new'`, so a server started inside a scope
     * (a startup hook, a test) still gives every request its own.
     *
     * @default 'join'
     */
    nested?: 'join' | 'new';
}
/** Options of {@link Lifespan.shutdown}. */
export interface ShutdownOptions {
    /**
     * How long to wait for open scopes before interrupting them, in milliseconds.
     *
     * @default the lifespan's `shutdownTimeoutMs`
     */
    timeoutMs?: number;
}
/** What a shutdown did. */
export interface ShutdownReport {
    /** True when every scope finished in time and every hook succeeded. */
    clean: boolean;
    /** Scopes still running at the deadline, interrupted and killed server-side. */
    interrupted: number;
    /** Connections that did not close in time and were killed server-side. */
    killed: number;
    /** How long the shutdown took, in milliseconds. */
    durationMs: number;
}
/** What {@link Lifespan.stats} returns. */
export interface LifespanStats {
    /** Lifecycle state. */
    state: LifespanState;
    /** Scopes open right now. */
    activeScopes: number;
    /** Counters per alias. */
    aliases: Record<string, AliasStats>;
}
type Hook = () => unknown;
/**
 * Keeps a process's MySQL connections healthy. Create it with {@link createLifespan}.
 *
 * @example
 * ```ts
 * const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL! } })
 * await lifespan.startup()
 * await lifespan.scope(async () => {
 *   const [rows] = await lifespan.db().query('SELECT 1 AS ok')
 * })
 * await lifespan.shutdown()
 * ```
 */
export declare class Lifespan {
    #private;
    /** @internal Use {@link createLifespan}. */
    constructor(options: LifespanOptions);
    /** The lifecycle state. */
    get state(): LifespanState;
    /** The configured aliases. */
    get aliases(): string[];
    /** The default shutdown deadline (`shutdownTimeoutMs`), for adapters that close a server first. */
    get shutdownTimeoutMs(): number;
    /**
     * Registers a hook run by {@link Lifespan.startup}, in a `startup` scope, after every alias connected.
     *
     * @throws {LifespanError} `ERR_LIFESPAN_INVALID_STATE` once startup has begun.
     */
    onStartup(hook: Hook): this;
    /**
     * Registers a hook run by {@link Lifespan.shutdown}, in a `shutdown` scope, after open scopes drained
     * and before connections are closed. Hooks run in reverse order of registration.
     */
    onShutdown(hook: Hook): this;
    /** Removes a hook registered with {@link Lifespan.onShutdown} (for schedules and servers that stop on their own). */
    offShutdown(hook: Hook): this;
    /**
     * Connects every alias (retrying refused connects with backoff within `acquireTimeoutMs`), reads each
     * server's `wait_timeout`, then runs the `onStartup` hooks. Joinable: concurrent calls share one startup.
     * Scopes opened before startup start it themselves.
     *
     * @throws the connect error when an alias cannot be reached (wrong password, unknown database) or
     *   {@link AcquireTimeoutError}; {@link HookError} when a hook fails. The lifespan is then back in `created`.
     */
    startup(): Promise<void>;
    /**
     * Runs `fn` in a scope (a `task` unless told otherwise). Connections are leased lazily per alias and
     * released when `fn` settles. Inside another scope, `fn` joins it.
     *
     * @throws {LifespanError} `ERR_LIFESPAN_SHUTTING_DOWN` once shutdown has begun, `ERR_LIFESPAN_STOPPED`
     *   after it; `ERR_LIFESPAN_SCOPE_INTERRUPTED` when the scope outlived the shutdown deadline.
     * @example
     * ```ts
     * app.post('/orders', (req, res) => lifespan.scope(async () => {
     *   await lifespan.db().execute('INSERT INTO orders (id) VALUES (?)', [req.body.id])
     * }))
     * ```
     */
    scope<T>(fn: () => T | Promise<T>, options?: ScopeOptions): Promise<T>;
    /**
     * Wraps `fn` so that every call runs in its own task scope (or joins the caller's).
     *
     * @example
     * ```ts
     * const handle = lifespan.task(async (job: Job) => { await lifespan.db().query('...', [job.id]) })
     * queue.process(handle)
     * ```
     */
    task<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R>;
    /**
     * The handle of an alias (`default`, or the first alias, when none is named).
     * Outside any scope each call runs in an implicit one-statement scope; with `strict` it throws.
     *
     * @throws {LifespanError} `ERR_LIFESPAN_UNKNOWN_ALIAS`; `ERR_LIFESPAN_NO_SCOPE` outside a scope in strict mode.
     */
    db(alias?: string): Database;
    /** The running scope, or `undefined` outside any scope. */
    currentScope(): ScopeInfo | undefined;
    /** A snapshot of the state, the open scopes and each alias's counters. Holds no connection details. */
    stats(): LifespanStats;
    /**
     * Graceful shutdown. In the same tick, new scopes are refused. Open scopes get until `timeoutMs`
     * to finish; those still running are then interrupted and their connections killed server-side
     * (`KILL CONNECTION` from a short-lived side connection), so nothing keeps running on the server.
     * Then the `onShutdown` hooks run in a `shutdown` scope, and every connection is ended (COM_QUIT).
     * Idempotent and joinable. Called from inside a scope, it does not wait for that scope.
     *
     * @throws {HookError} after completing the shutdown, when a hook failed.
     */
    shutdown(options?: ShutdownOptions): Promise<ShutdownReport>;
    /**
     * Abrupt stop: every scope is interrupted and every socket closed now. No hook runs.
     * Idempotent; also ends a shutdown in progress.
     */
    destroy(): Promise<void>;
    /**
     * Runs a whole program: `startup()`, then `main(signal)`, then `shutdown()`. SIGINT/SIGTERM abort
     * `signal` and start the shutdown; a second signal destroys. Sets `process.exitCode` (0 when the
     * program and the shutdown were clean, 1 otherwise) and never calls `process.exit`.
     *
     * @throws what `main` or `startup` threw, after shutting down.
     * @example
     * ```ts
     * await lifespan.run(async (signal) => {
     *   while (!signal.aborted) await lifespan.task(processNextJob)()
     * })
     * ```
     */
    run<T>(main: (signal: AbortSignal) => T | Promise<T>, options?: RunOptions): Promise<T | undefined>;
}
/**
 * Creates a {@link Lifespan}. Options are validated here; nothing connects until `startup()` or the first scope.
 *
 * @throws {InvalidOptionError} naming the first invalid option.
 * @example
 * ```ts
 * import { createLifespan } from 'mysql-lifespan'
 * export const lifespan = createLifespan({ databases: { default: 'mysql://app:secret@db:3306/app' } })
 * ```
 */
export declare function createLifespan(options: LifespanOptions): Lifespan;
export {};
