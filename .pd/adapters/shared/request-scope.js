import { ErrorCodes } from '../../index.js';
import { track } from './in-flight.js';
/** @internal What {@link requestScope} resolves to when the lifespan no longer admits scopes. */
export const REFUSED = Symbol('mysql-lifespan.refused');
/** @internal True for the errors `scope()` rejects with once shutdown has begun (or ended). */
export function isRefusal(err) {
    const code = err?.code;
    return code === ErrorCodes.SHUTTING_DOWN || code === ErrorCodes.STOPPED;
}
/** @internal Resolves when `res` has closed; at once when it already has (the client left before we ran). */
export function whenClosed(res) {
    if (res.closed === true || res.destroyed === true)
        return Promise.resolve();
    return new Promise((resolve) => res.once('close', resolve));
}
/**
 * @internal Runs `downstream` in a task scope of its own that lasts until `res` closed and
 * `downstream` settled. The returned promise settles like `downstream` (so its errors reach the
 * framework's error handling at once), or resolves to {@link REFUSED} when shutdown has begun.
 * Without `res` (a runtime that is not Node's http), the scope lasts as long as `downstream`.
 */
export function requestScope(lifespan, res, downstream) {
    return new Promise((resolve, reject) => {
        let entered = false;
        lifespan
            .scope(() => {
            entered = true;
            if (res)
                track(lifespan, res);
            let settled;
            try {
                const outcome = Promise.resolve(downstream());
                outcome.then(resolve, reject);
                settled = outcome.catch(() => { });
            }
            catch (err) {
                reject(err);
                settled = Promise.resolve();
            }
            return res ? Promise.all([settled, whenClosed(res)]) : settled;
        }, { nested: 'new' })
            .catch((err) => {
            // Once downstream runs, the only rejection left is an interruption at the shutdown
            // deadline; downstream learns of it from its own statements, so it is not reported twice.
            if (entered)
                return;
            if (isRefusal(err))
                resolve(REFUSED);
            else
                reject(err);
        });
    });
}
/**
 * @internal Answers 503 on a Node response during shutdown, asking the client to reconnect
 * (elsewhere); a response already under way can only be cut.
 */
export function serviceUnavailable(res) {
    if (res.headersSent) {
        res.destroy();
        return;
    }
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
    res.end('Service Unavailable\n');
}
//# sourceMappingURL=request-scope.js.map