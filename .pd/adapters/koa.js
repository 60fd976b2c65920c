import { REFUSED, requestScope } from './shared/request-scope.js';
export { closeGracefully, shutdownOnSignals } from './shared/close-server.js';
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
export function lifespanMiddleware(lifespan) {
    return async function lifespanScope(ctx, next) {
        const outcome = await requestScope(lifespan, ctx.res, next);
        if (outcome === REFUSED) {
            ctx.status = 503;
            ctx.set('Connection', 'close');
            ctx.body = 'Service Unavailable';
        }
    };
}
//# sourceMappingURL=koa.js.map