/**
 * @module
 * The routine the middleware and the interceptor share: a request's scope stays open until
 * its response is over *and* no handler is still running, because an aborted request's
 * controller can still be using the scope's connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServiceUnavailableException } from '@nestjs/common';
import { type Lifespan } from '../../index.js';
/** @internal A request's open scope, as the interceptor sees it. */
export interface RequestScope {
    /** Marks a handler as running; the returned function marks it done (idempotent). */
    hold(): () => void;
}
/** @internal Node's request behind an Express request (itself) or a Fastify one (`raw`). */
export declare function rawRequest(request: unknown): IncomingMessage | undefined;
/** @internal The scope the middleware opened for `request`, if any. */
export declare function requestScope(request: unknown): RequestScope | undefined;
/**
 * @internal Opens a task scope for one request and calls `next` inside it. Resolves once
 * `next` was called; rejects (without calling it) when the lifespan refuses the scope.
 */
export declare function openRequestScope(lifespan: Lifespan, req: IncomingMessage, res: ServerResponse, next: () => void): Promise<void>;
/** @internal Node's response behind an Express response (itself) or a Fastify reply (`raw`). */
export declare function rawResponse(response: unknown): ServerResponse | undefined;
/**
 * @internal The HTTP answer to a refused scope: 503 with the library's code during shutdown;
 * any other failure (the database unreachable at a lazy startup) is not described to the client.
 */
export declare function unavailable(err: unknown): ServiceUnavailableException;
