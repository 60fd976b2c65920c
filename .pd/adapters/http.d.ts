/**
 * @module
 * node:http adapter: a request listener wrapped so that every request runs in its own `task`
 * scope, and a graceful close of the server with the lifespan.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { createLifespan } from 'mysql-lifespan'
 * import { shutdownOnSignals, wrapHandler } from 'mysql-lifespan/http'
 *
 * const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL! } })
 * const server = createServer(wrapHandler(lifespan, async (req, res) => {
 *   const [rows] = await lifespan.db().query('SELECT 1 AS ok')
 *   res.end(JSON.stringify(rows))
 * }))
 * await lifespan.startup()
 * shutdownOnSignals(server.listen(3000), lifespan)
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Lifespan } from '../index.js';
export { closeGracefully, shutdownOnSignals } from './shared/close-server.js';
export type { ClosableServer, CloseOptions, SignalOptions } from './shared/close-server.js';
/**
 * Wraps a node:http request listener so each call runs in a `task` scope of `lifespan`. The scope
 * lasts until the response has closed (sent, or the client aborted) and the promise `handler`
 * returned has settled, whichever is later: statements run after `res.end()` still have the
 * request's connection, and an aborted request keeps it only until the handler is done.
 *
 * Once shutdown has begun, new requests get `503 Service Unavailable` with `Connection: close`.
 * Errors are not swallowed: what `handler` throws (or rejects with) rejects the promise the
 * wrapped listener returns, as an unwrapped async listener would; with `captureRejections`
 * enabled Node then answers 500 itself, otherwise catch errors in the handler.
 *
 * @example
 * ```ts
 * const server = createServer(wrapHandler(lifespan, async (req, res) => {
 *   const [rows] = await lifespan.db().query('SELECT CONNECTION_ID() AS id')
 *   res.setHeader('Content-Type', 'application/json')
 *   res.end(JSON.stringify(rows[0]))
 * }))
 * ```
 */
export declare function wrapHandler<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse<Req> = ServerResponse<Req>>(lifespan: Lifespan, handler: (req: Req, res: Res) => unknown): (req: Req, res: Res) => Promise<void>;
