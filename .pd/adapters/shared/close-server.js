/**
 * @module
 * Graceful close of an HTTP server and its lifespan, shared by the Express, Koa, Hono and
 * node:http adapters: stop accepting, let in-flight requests finish (closing keep-alive
 * sockets as soon as their last response is out), then shut the lifespan down.
 *
 * @example
 * ```ts
 * const server = app.listen(3000)
 * shutdownOnSignals(server, lifespan, { timeoutMs: 10_000 })
 * ```
 */
import { ErrorCodes, LifespanError } from '../../index.js';
import { drain } from './in-flight.js';
const closing = new WeakMap();
/**
 * Closes `server` gracefully, then shuts `lifespan` down. New connections are refused at once;
 * requests in flight finish, and their keep-alive sockets close right after their response
 * (with the adapter's middleware installed; otherwise at the server's `keepAliveTimeout`).
 * Requests still running at the deadline are interrupted (their statements killed server-side)
 * and their sockets closed. Idempotent and joinable per server.
 *
 * @returns the lifespan's {@link ShutdownReport}; `clean` is also false when requests had to be cut.
 * @example
 * ```ts
 * process.once('SIGTERM', () => void closeGracefully(server, lifespan, { timeoutMs: 5_000 }))
 * ```
 */
export function closeGracefully(server, lifespan, options = {}) {
    const timeoutMs = options.timeoutMs ?? lifespan.shutdownTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
        return Promise.reject(new LifespanError(`Invalid option \`timeoutMs\`: expected a whole number >= 0, got ${String(timeoutMs)}`, { code: ErrorCodes.INVALID_OPTION }));
    }
    let pending = closing.get(server);
    if (!pending) {
        pending = close(server, lifespan, timeoutMs);
        closing.set(server, pending);
    }
    return pending;
}
async function close(server, lifespan, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    const stopDraining = drain(lifespan, () => server.closeIdleConnections?.());
    let timer;
    try {
        const closed = new Promise((resolve) => {
            // An error means the server was not listening: nothing left to wait for.
            server.close(() => resolve(true));
        });
        server.closeIdleConnections?.();
        const drained = await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs, false)))]);
        // With the requests gone the lifespan has only other work (jobs) to drain; past the deadline
        // it interrupts the requests still running, before their sockets are cut below.
        const report = await lifespan.shutdown({ timeoutMs: Math.max(0, deadline - Date.now()) });
        return drained ? report : { ...report, clean: false };
    }
    finally {
        clearTimeout(timer);
        stopDraining();
        server.closeAllConnections?.();
    }
}
/**
 * Installs signal handlers for a server process: the first signal runs {@link closeGracefully};
 * a second one closes every socket and destroys the lifespan. The exit code is left in
 * `process.exitCode`: 0 after a clean close (unless already set), 1 after an unclean one, a
 * failure or a second signal. `process.exit` is never called: the process ends by itself once
 * the server and the pool are closed, provided nothing else (a timer, another server) keeps it alive.
 * The handlers remove themselves when the close is over, so a further signal has its default effect.
 *
 * @returns a function that removes the handlers (for tests, or to hand signals to something else).
 * @example
 * ```ts
 * const server = app.listen(Number(process.env.PORT ?? 3000))
 * shutdownOnSignals(server, lifespan)
 * ```
 */
export function shutdownOnSignals(server, lifespan, options = {}) {
    const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
    let received = 0;
    const uninstall = () => {
        for (const s of signals)
            process.off(s, onSignal);
    };
    function onSignal() {
        received++;
        if (received > 1) {
            process.exitCode = 1;
            server.closeAllConnections?.();
            void lifespan.destroy();
            return;
        }
        closeGracefully(server, lifespan, options).then((report) => {
            process.exitCode = report.clean && received === 1 ? (process.exitCode ?? 0) : 1;
        }, () => {
            process.exitCode = 1;
        }).finally(uninstall);
    }
    for (const s of signals)
        process.on(s, onSignal);
    return uninstall;
}
//# sourceMappingURL=close-server.js.map