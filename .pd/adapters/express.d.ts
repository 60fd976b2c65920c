/**
 * @module
 * Express 5 adapter: every request runs in its own `task` scope, from the middleware to the
 * moment its response has been sent (or the client went away), and the HTTP server closes
 * gracefully with the lifespan.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { createLifespan } from 'mysql-lifespan'
 * import { lifespanMiddleware, shutdownOnSignals } from 'mysql-lifespan/express'
 *
 * const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL! } })
 * const app = express()
 * app.use(lifespanMiddleware(lifespan))
 * app.get('/', async (req, res) => {
 *   const [rows] = await lifespan.db().query('SELECT 1 AS ok')
 *   res.json(rows)
 * })
 * await lifespan.startup()
 * shutdownOnSignals(app.listen(3000), lifespan)
 * ```
 */
import type { RequestHandler } from 'express';
import type { Lifespan } from '../index.js';
export { closeGracefully, shutdownOnSignals } from './shared/close-server.js';
export type { ClosableServer, CloseOptions, SignalOptions } from './shared/close-server.js';
/**
 * Express middleware that runs the rest of the chain in a `task` scope of `lifespan`. Register it
 * first, before routers and body parsers, so everything after it shares the request's scope.
 *
 * The scope ends when the response closes: after it was sent, or when the client aborted (the
 * connection then goes back to the pool at once, validated again before its next use). Express
 * does not tell a middleware when a handler's promise settles, so database work a handler does
 * after its response closed is no longer covered by the request's scope: finish it before `res.send()`.
 *
 * Once shutdown has begun, new requests get `503 Service Unavailable` with `Connection: close`.
 * Other failures to open the scope (the database unreachable at the first request) go to
 * Express's error handling through `next(err)`.
 *
 * @example
 * ```ts
 * app.use(lifespanMiddleware(lifespan))
 * app.use(express.json())
 * app.post('/orders', async (req, res) => {
 *   await lifespan.db().execute('INSERT INTO orders (sku) VALUES (?)', [req.body.sku])
 *   res.status(201).end()
 * })
 * ```
 */
export declare function lifespanMiddleware(lifespan: Lifespan): RequestHandler;
