/**
 * @module
 * @internal
 * The request scope every HTTP adapter uses: a `task` scope that lasts until the response
 * has closed (finished or aborted by the client) and the framework's downstream work has
 * settled, whichever comes later. Ending at the response alone would hand the connection
 * back while a handler still runs statements after `res.end()`; ending at downstream alone
 * would miss Koa and Hono bodies that are written after the middleware chain returned.
 *
 * @example
 * ```ts
 * const outcome = await requestScope(lifespan, res, () => next())
 * if (outcome === REFUSED) serviceUnavailable(res)
 * ```
 */
import type { ServerResponse } from 'node:http';
import { type Lifespan } from '../../index.js';
import { type NodeResponse } from './in-flight.js';
/** @internal What {@link requestScope} resolves to when the lifespan no longer admits scopes. */
export declare const REFUSED: unique symbol;
/** @internal True for the errors `scope()` rejects with once shutdown has begun (or ended). */
export declare function isRefusal(err: unknown): boolean;
/** @internal Resolves when `res` has closed; at once when it already has (the client left before we ran). */
export declare function whenClosed(res: NodeResponse): Promise<void>;
/**
 * @internal Runs `downstream` in a task scope of its own that lasts until `res` closed and
 * `downstream` settled. The returned promise settles like `downstream` (so its errors reach the
 * framework's error handling at once), or resolves to {@link REFUSED} when shutdown has begun.
 * Without `res` (a runtime that is not Node's http), the scope lasts as long as `downstream`.
 */
export declare function requestScope<T>(lifespan: Lifespan, res: NodeResponse | undefined, downstream: () => T | Promise<T>): Promise<T | typeof REFUSED>;
/**
 * @internal Answers 503 on a Node response during shutdown, asking the client to reconnect
 * (elsewhere); a response already under way can only be cut.
 */
export declare function serviceUnavailable(res: ServerResponse): void;
