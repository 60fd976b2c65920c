import { REFUSED, requestScope, serviceUnavailable } from './shared/request-scope.js';
export { closeGracefully, shutdownOnSignals } from './shared/close-server.js';
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
export function lifespanMiddleware(lifespan) {
    return function lifespanScope(req, res, next) {
        requestScope(lifespan, res, () => next()).then((outcome) => {
            if (outcome === REFUSED)
                serviceUnavailable(res);
        }, next);
    };
}
//# sourceMappingURL=express.js.map