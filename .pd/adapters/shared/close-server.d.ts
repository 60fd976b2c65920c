/**
 * @module
 * Graceful close of an HTTP server and its lifespan, shared by the Express, Koa, Hono and
 * node:http adapters: stop accepting, let in-flight requests finish (closing keep-alive
 * sockets as soon as their last response is out), then shut the lifespan down.
 *
 * @example
 * ```ts
 * const server = app.listen(3000)
 * shutdownOnSignals(server, lifespan, { timeoutMs: 10_000 })
 * ```
 */
import { type Lifespan, type ShutdownReport } from '../../index.js';
/**
 * The part of a server {@link closeGracefully} uses: `http.Server`, `https.Server`, and the
 * HTTP/2 servers `@hono/node-server` may return (which lack the two optional methods).
 */
export interface ClosableServer {
    /** Stops accepting connections; `callback` runs once every connection has closed. */
    close(callback?: (err?: Error) => void): unknown;
    /** Closes the keep-alive sockets that carry no request (Node 18.2+). */
    closeIdleConnections?(): void;
    /** Closes every socket, requests in flight included (Node 18.2+). */
    closeAllConnections?(): void;
}
/** Options of {@link closeGracefully}. */
export interface CloseOptions {
    /**
     * Budget for the whole close, in milliseconds: requests get until then to finish; the
     * lifespan's shutdown gets what is left (and interrupts what still runs at the end).
     *
     * @default the lifespan's `shutdownTimeoutMs`
     */
    timeoutMs?: number;
}
/** Options of {@link shutdownOnSignals}. */
export interface SignalOptions extends CloseOptions {
    /**
     * Signals that start the graceful close; a second one destroys at once.
     *
     * @default ['SIGINT', 'SIGTERM']
     */
    signals?: NodeJS.Signals[];
}
/**
 * Closes `server` gracefully, then shuts `lifespan` down. New connections are refused at once;
 * requests in flight finish, and their keep-alive sockets close right after their response
 * (with the adapter's middleware installed; otherwise at the server's `keepAliveTimeout`).
 * Requests still running at the deadline are interrupted (their statements killed server-side)
 * and their sockets closed. Idempotent and joinable per server.
 *
 * @returns the lifespan's {@link ShutdownReport}; `clean` is also false when requests had to be cut.
 * @example
 * ```ts
 * process.once('SIGTERM', () => void closeGracefully(server, lifespan, { timeoutMs: 5_000 }))
 * ```
 */
export declare function closeGracefully(server: ClosableServer, lifespan: Lifespan, options?: CloseOptions): Promise<ShutdownReport>;
/**
 * Installs signal handlers for a server process: the first signal runs {@link closeGracefully};
 * a second one closes every socket and destroys the lifespan. The exit code is left in
 * `process.exitCode`: 0 after a clean close (unless already set), 1 after an unclean one, a
 * failure or a second signal. `process.exit` is never called: the process ends by itself once
 * the server and the pool are closed, provided nothing else (a timer, another server) keeps it alive.
 * The handlers remove themselves when the close is over, so a further signal has its default effect.
 *
 * @returns a function that removes the handlers (for tests, or to hand signals to something else).
 * @example
 * ```ts
 * const server = app.listen(Number(process.env.PORT ?? 3000))
 * shutdownOnSignals(server, lifespan)
 * ```
 */
export declare function shutdownOnSignals(server: ClosableServer, lifespan: Lifespan, options?: SignalOptions): () => void;
