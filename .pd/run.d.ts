import type { Lifespan } from './lifespan.js';
import type { Logger } from './options.js';
/** Options of {@link Lifespan.run}. */
export interface RunOptions {
    /**
     * Signals that start a graceful shutdown; a second one destroys at once.
     *
     * @default ['SIGINT', 'SIGTERM']
     */
    signals?: NodeJS.Signals[];
}
/** @internal The body of {@link Lifespan.run}; uses only the lifespan's public methods. */
export declare function runProgram<T>(lifespan: Lifespan, logger: Logger | undefined, main: (signal: AbortSignal) => T | Promise<T>, options: RunOptions | undefined): Promise<T | undefined>;
