import { REFUSED, requestScope, serviceUnavailable } from './shared/request-scope.js';
export { closeGracefully, shutdownOnSignals } from './shared/close-server.js';
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
export function wrapHandler(lifespan, handler) {
    if (typeof handler !== 'function')
        throw new TypeError('wrapHandler() expects a request listener');
    return async function scopedHandler(req, res) {
        const outcome = await requestScope(lifespan, res, () => handler(req, res));
        if (outcome === REFUSED)
            serviceUnavailable(res);
    };
}
//# sourceMappingURL=http.js.map