/**
 * @module
 * Entrypoints that are not HTTP: a whole worker program, queue messages, periodic jobs and a
 * line-based socket service. Each unit of work runs in a `task` scope of its own, so the first job
 * after a night of idling gets a validated connection instead of "MySQL server has gone away".
 *
 * @example
 * ```ts
 * import { createLifespan } from 'mysql-lifespan'
 * import { every, runMain } from 'mysql-lifespan/worker'
 *
 * const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL! } })
 * await runMain(lifespan, (signal) =>
 *   every(lifespan, 60_000, () => lifespan.db().query('DELETE FROM sessions WHERE expires < NOW()'), { signal }),
 * )
 * ```
 */
import { ErrorCodes, LifespanError } from '../index.js';
import { isRefusal } from './shared/request-scope.js';
export { serveSocket } from './shared/socket-service.js';
/**
 * Runs a worker program with {@link Lifespan.run}: startup, `main(signal)`, shutdown. SIGINT and
 * SIGTERM abort `signal` and shut down gracefully; a second signal destroys. The exit code is left
 * in `process.exitCode` (0 after a clean run and shutdown, 1 otherwise); `process.exit` is never called.
 *
 * @throws what `main` threw, after the shutdown.
 * @example
 * ```ts
 * await runMain(lifespan, async (signal) => {
 *   while (!signal.aborted) await handle(await queue.next(signal))
 * })
 * ```
 */
export function runMain(lifespan, main, options) {
    return lifespan.run(main, options);
}
/**
 * Wraps a queue-message handler so every call runs in a `task` scope of its own. During shutdown
 * the returned function rejects with code `ERR_LIFESPAN_SHUTTING_DOWN` without calling `handler`,
 * so the queue library can leave the message for another consumer (nack, visibility timeout).
 *
 * @example
 * ```ts
 * const onMessage = processor(lifespan, async (msg: { orderId: number }) => {
 *   await lifespan.db().execute('UPDATE orders SET state = "paid" WHERE id = ?', [msg.orderId])
 * })
 * consumer.on('message', onMessage)
 * ```
 */
export function processor(lifespan, handler) {
    return lifespan.task(handler);
}
/**
 * Runs `job` every `intervalMs` milliseconds, each run in a `task` scope of its own. Runs never
 * overlap: a run that takes longer than the interval is followed by the next one at once. The
 * schedule stops when `options.signal` aborts or the lifespan shuts down; the returned promise
 * resolves then, after the run in progress (if any) finished.
 *
 * @throws {LifespanError} `ERR_LIFESPAN_INVALID_OPTION` (as a rejection) for an interval that is not a whole number > 0.
 * @example
 * ```ts
 * await runMain(lifespan, (signal) => every(lifespan, 30_000, async () => {
 *   await lifespan.db().query('INSERT INTO heartbeats (at) VALUES (NOW())')
 * }, { signal, onError: (err) => logger.error(err) }))
 * ```
 */
export function every(lifespan, intervalMs, job, options = {}) {
    if (!Number.isInteger(intervalMs) || intervalMs <= 0) {
        return Promise.reject(new LifespanError(`Invalid option \`intervalMs\`: expected a whole number > 0, got ${String(intervalMs)}`, { code: ErrorCodes.INVALID_OPTION }));
    }
    const { signal, onError } = options;
    return new Promise((resolve, reject) => {
        const stop = new AbortController();
        let timer;
        let running = false;
        let finished = false;
        const finish = (failure) => {
            if (finished)
                return;
            finished = true;
            clearTimeout(timer);
            signal?.removeEventListener('abort', onStop);
            lifespan.offShutdown(onStop);
            if (failure)
                reject(failure.error);
            else
                resolve();
        };
        function onStop() {
            stop.abort(signal?.reason);
            clearTimeout(timer);
            // A run in progress finishes the schedule itself when it is done.
            if (!running)
                finish();
        }
        const tick = async () => {
            const started = Date.now();
            running = true;
            try {
                await lifespan.scope(() => job(stop.signal), { nested: 'new' });
            }
            catch (error) {
                // Shutdown refused or interrupted the run: the schedule is over, not failed.
                const over = isRefusal(error) || error?.code === ErrorCodes.SCOPE_INTERRUPTED;
                if (over)
                    stop.abort();
                else if (!onError)
                    return finish({ error });
                else {
                    try {
                        onError(error);
                    }
                    catch (reportError) {
                        return finish({ error: reportError });
                    }
                }
            }
            finally {
                running = false;
            }
            if (stop.signal.aborted)
                return finish();
            timer = setTimeout(tick, Math.max(0, intervalMs - (Date.now() - started)));
        };
        if (signal?.aborted)
            return finish();
        signal?.addEventListener('abort', onStop, { once: true });
        // Without a signal, the timer would keep the process alive until the next tick after a shutdown.
        if (lifespan.state !== 'stopping' && lifespan.state !== 'stopped')
            lifespan.onShutdown(onStop);
        timer = setTimeout(tick, options.immediate ? 0 : intervalMs);
    });
}
//# sourceMappingURL=worker.js.map