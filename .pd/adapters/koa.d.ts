/**
 * @module
 * Koa 3 adapter: every request runs in its own `task` scope, and the HTTP server closes
 * gracefully with the lifespan.
 *
 * @example
 * ```ts
 * import Koa from 'koa'
 * import { createLifespan } from 'mysql-lifespan'
 * import { lifespanMiddleware, shutdownOnSignals } from 'mysql-lifespan/koa'
 *
 * const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL! } })
 * const app = new Koa()
 * app.use(lifespanMiddleware(lifespan))
 * app.use(async (ctx) => {
 *   const [rows] = await lifespan.db().query('SELECT 1 AS ok')
 *   ctx.body = rows
 * })
 * await lifespan.startup()
 * shutdownOnSignals(app.listen(3000), lifespan)
 * ```
 */
import type { DefaultContext, DefaultState, Middleware } from 'koa';
import type { Lifespan } from '../index.js';
export { closeGracefully, shutdownOnSignals } from './shared/close-server.js';
export type { ClosableServer, CloseOptions, SignalOptions } from './shared/close-server.js';
/**
 * Koa middleware that runs the downstream middleware in a `task` scope of `lifespan`. Register it
 * first (`app.use(lifespanMiddleware(lifespan))`) so every later middleware shares the scope.
 *
 * The middleware returns when downstream does, as Koa expects, but the scope (and its connection)
 * lasts until the response has also been written and closed, so a streamed body that reads from
 * the database still has its connection. A client that aborts releases it once downstream settles.
 *
 * Once shutdown has begun, new requests get `503 Service Unavailable` with `Connection: close`.
 * Other failures to open the scope are thrown, for Koa's error handling.
 *
 * @example
 * ```ts
 * app.use(lifespanMiddleware(lifespan))
 * router.get('/users/:id', async (ctx) => {
 *   const [rows] = await lifespan.db().query('SELECT * FROM users WHERE id = ?', [ctx.params.id])
 *   ctx.body = rows
 * })
 * ```
 */
export declare function lifespanMiddleware<StateT = DefaultState, ContextT = DefaultContext>(lifespan: Lifespan): Middleware<StateT, ContextT>;
