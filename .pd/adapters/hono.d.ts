/**
 * @module
 * Hono adapter: every request runs in its own `task` scope. On Node (`@hono/node-server`) the
 * scope lasts until the response has been written, and the server closes gracefully with the
 * lifespan.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { serve } from '@hono/node-server'
 * import { createLifespan } from 'mysql-lifespan'
 * import { lifespanMiddleware, shutdownOnSignals } from 'mysql-lifespan/hono'
 *
 * const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL! } })
 * const app = new Hono()
 * app.use(lifespanMiddleware(lifespan))
 * app.get('/', async (c) => {
 *   const [rows] = await lifespan.db().query('SELECT 1 AS ok')
 *   return c.json(rows)
 * })
 * await lifespan.startup()
 * shutdownOnSignals(serve({ fetch: app.fetch, port: 3000 }), lifespan)
 * ```
 */
import type { MiddlewareHandler } from 'hono';
import type { Lifespan } from '../index.js';
export { closeGracefully, shutdownOnSignals } from './shared/close-server.js';
export type { ClosableServer, CloseOptions, SignalOptions } from './shared/close-server.js';
/**
 * Hono middleware that runs the downstream handlers in a `task` scope of `lifespan`. Register it
 * first (`app.use(lifespanMiddleware(lifespan))`).
 *
 * Under `@hono/node-server` the scope lasts until the response has been written and closed, so a
 * streamed body (`c.stream()`) that reads from the database keeps its connection; elsewhere (and
 * in `app.request()` tests) it lasts as long as the downstream handlers.
 *
 * Once shutdown has begun, new requests get `503 Service Unavailable` with `Connection: close`.
 * Other failures to open the scope are thrown, for `app.onError`.
 *
 * @example
 * ```ts
 * app.use(lifespanMiddleware(lifespan))
 * app.get('/users/:id', async (c) => {
 *   const [rows] = await lifespan.db().query('SELECT * FROM users WHERE id = ?', [c.req.param('id')])
 *   return c.json(rows)
 * })
 * ```
 */
export declare function lifespanMiddleware(lifespan: Lifespan): MiddlewareHandler;
