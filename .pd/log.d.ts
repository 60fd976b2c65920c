/**
 * @module
 * Calls a pino-compatible logger if one was given. A logger that throws must not
 * break the work being logged, so its errors are swallowed.
 */
import type { Logger } from './options.js';
/** @internal */
export declare function log(logger: Logger | undefined, level: keyof Logger, obj: object, msg: string): void;
