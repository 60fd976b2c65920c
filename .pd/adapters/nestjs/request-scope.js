import { ServiceUnavailableException } from '@nestjs/common';
import { ErrorCodes } from '../../index.js';
import { track } from '../shared/in-flight.js';
/** Keyed by Node's request object: on the Fastify platform, middleware get `request.raw`. */
const scopes = new WeakMap();
/** @internal Node's request behind an Express request (itself) or a Fastify one (`raw`). */
export function rawRequest(request) {
    const raw = request?.raw ?? request;
    return raw && typeof raw === 'object' ? raw : undefined;
}
/** @internal The scope the middleware opened for `request`, if any. */
export function requestScope(request) {
    const raw = rawRequest(request);
    return raw ? scopes.get(raw) : undefined;
}
/**
 * @internal Opens a task scope for one request and calls `next` inside it. Resolves once
 * `next` was called; rejects (without calling it) when the lifespan refuses the scope.
 */
export function openRequestScope(lifespan, req, res, next) {
    return new Promise((entered, refused) => {
        let inside = false;
        lifespan
            .scope(() => new Promise((end) => {
            inside = true;
            let running = 0;
            let over = false;
            const settle = () => {
                if (over && running === 0)
                    end();
            };
            scopes.set(req, {
                hold() {
                    running++;
                    let done = false;
                    return () => {
                        if (done)
                            return;
                        done = true;
                        running--;
                        settle();
                    };
                },
            });
            // Lets a graceful close ask this response's client not to keep the socket alive.
            track(lifespan, res);
            // 'close' follows a finished response and an aborted one alike.
            const onClose = () => {
                over = true;
                settle();
            };
            if (res.closed)
                onClose();
            else
                res.once('close', onClose);
            entered();
            next();
        }), { nested: 'new' })
            // Once inside, a rejection means the scope was interrupted at a shutdown deadline; the
            // controller's statements reject with the same error, so there is nothing left to answer.
            .catch((err) => {
            if (!inside)
                refused(err);
        });
    });
}
/** @internal Node's response behind an Express response (itself) or a Fastify reply (`raw`). */
export function rawResponse(response) {
    const raw = response?.raw ?? response;
    return raw && typeof raw === 'object' && typeof raw.once === 'function' ? raw : undefined;
}
/**
 * @internal The HTTP answer to a refused scope: 503 with the library's code during shutdown;
 * any other failure (the database unreachable at a lazy startup) is not described to the client.
 */
export function unavailable(err) {
    const code = err?.code;
    const refused = code === ErrorCodes.SHUTTING_DOWN || code === ErrorCodes.STOPPED;
    const body = refused ? { code, message: err.message } : { message: 'The database is unavailable.' };
    return new ServiceUnavailableException({ statusCode: 503, error: 'Service Unavailable', ...body }, { cause: err });
}
//# sourceMappingURL=request-scope.js.map