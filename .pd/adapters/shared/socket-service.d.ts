/**
 * @module
 * A line-based request/response service over TCP or a unix socket, for background services that
 * answer requests from another process (the situation of "MySQL server has gone away" after a
 * night of idling). Exported by `mysql-lifespan/worker`.
 *
 * @example
 * ```ts
 * const server = serveSocket(lifespan, async (line) => {
 *   const [rows] = await lifespan.db().query('SELECT ? AS echo', [line])
 *   return rows
 * }, { signal })
 * server.listen('/run/my-service.sock')
 * ```
 */
import { type Server, type Socket } from 'node:net';
import type { Lifespan } from '../../index.js';
/** Handles one request line; a string is sent back as is, another value (but `undefined`) as JSON. */
export type SocketHandler = (request: string, socket: Socket) => unknown;
/** Options of {@link serveSocket}. */
export interface SocketServiceOptions {
    /** Closes the service gracefully when aborted (pass the signal of `runMain`). */
    signal?: AbortSignal;
    /**
     * Longest request line accepted, in characters; a client sending a longer one is disconnected.
     *
     * @default 1048576
     */
    maxLineLength?: number;
    /**
     * The reply line for a request that failed, or `undefined` to send none.
     *
     * @default `ERR <code>` (the error's string `code`, else `ERR_INTERNAL`); the message is not sent.
     */
    onError?: (error: unknown, request: string) => string | undefined;
}
/**
 * Builds a `net.Server` (call `listen()` on it) where every line a client sends is a request,
 * handled in a `task` scope of its own, and answered with one line. Requests of one connection are
 * answered in order, one at a time; connections are served concurrently. A client may half-close
 * after its last request and still get the replies.
 *
 * The service closes gracefully when `options.signal` aborts or the lifespan shuts down: it stops
 * accepting, ends idle connections, and ends busy ones right after their current reply (lines
 * received but not started are not answered). A request refused because shutdown has begun is
 * answered `ERR ERR_LIFESPAN_SHUTTING_DOWN` and its connection ended.
 *
 * @example
 * ```ts
 * await runMain(lifespan, async (signal) => {
 *   const server = serveSocket(lifespan, (line) => lifespan.db().query('SELECT ? AS id', [line]).then(([rows]) => rows), { signal })
 *   server.listen(4000)
 *   await once(server, 'close')
 * })
 * ```
 */
export declare function serveSocket(lifespan: Lifespan, handler: SocketHandler, options?: SocketServiceOptions): Server;
