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
import { type Lifespan, type RunOptions } from '../index.js';
export { serveSocket } from './shared/socket-service.js';
export type { SocketHandler, SocketServiceOptions } from './shared/socket-service.js';
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
export declare function runMain<T>(lifespan: Lifespan, main: (signal: AbortSignal) => T | Promise<T>, options?: RunOptions): Promise<T | undefined>;
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
export declare function processor<A extends unknown[], R>(lifespan: Lifespan, handler: (...args: A) => R | Promise<R>): (...args: A) => Promise<R>;
/** Options of {@link every}. */
export interface EveryOptions {
    /** Stops the schedule when aborted; a run in progress sees it as the `signal` it was given. */
    signal?: AbortSignal;
    /**
     * Run once right away instead of waiting a first interval.
     *
     * @default false
     */
    immediate?: boolean;
    /**
     * Called with the error of a failed run; the schedule goes on. Without it, the first failure
     * stops the schedule and rejects the promise {@link every} returned.
     */
    onError?: (error: unknown) => void;
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
export declare function every(lifespan: Lifespan, intervalMs: number, job: (signal: AbortSignal) => unknown, options?: EveryOptions): Promise<void>;
