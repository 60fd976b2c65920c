import { REFUSED, requestScope } from './shared/request-scope.js';
export { closeGracefully, shutdownOnSignals } from './shared/close-server.js';
/** `@hono/node-server` passes `{ incoming, outgoing }` as the env; other runtimes pass something else. */
function nodeResponse(env) {
    const outgoing = env?.outgoing;
    return typeof outgoing?.once === 'function' && typeof outgoing.setHeader === 'function' ? outgoing : undefined;
}
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
export function lifespanMiddleware(lifespan) {
    return async function lifespanScope(c, next) {
        const outcome = await requestScope(lifespan, nodeResponse(c.env), next);
        if (outcome === REFUSED)
            return c.text('Service Unavailable', 503, { Connection: 'close' });
        return undefined;
    };
}
//# sourceMappingURL=hono.js.map