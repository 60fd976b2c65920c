/**
 * @module
 * @internal
 * The HTTP responses each lifespan is serving right now. A graceful close needs them:
 * Node's `server.close()` leaves a keep-alive socket open after its in-flight response
 * (until `keepAliveTimeout`), so the close has to say `Connection: close` on responses not
 * yet started and close the socket as soon as the others are out.
 *
 * @example
 * ```ts
 * track(lifespan, res)                                   // in a request scope
 * const stop = drain(lifespan, () => server.closeIdleConnections())
 * ```
 */
import type { Lifespan } from '../../index.js';
/** @internal The part of a Node response (`http.ServerResponse`, or HTTP/2's) the adapters touch. */
export interface NodeResponse {
    /** Too late for `Connection: close` once true. */
    readonly headersSent: boolean;
    /** `true` once the response emitted `close` (Node 18+). */
    readonly closed?: boolean;
    /** `true` once the socket under the response was destroyed (the client left). */
    readonly destroyed?: boolean;
    setHeader(name: string, value: string): unknown;
    /** `close` comes after the response was sent and after a client abort alike. */
    once(event: 'close', listener: () => void): unknown;
}
/** @internal Records `res` as in flight for `lifespan` until it closes. */
export declare function track(lifespan: Lifespan, res: NodeResponse): void;
/**
 * @internal Starts draining `lifespan`'s responses: those not started get `Connection: close`,
 * and `onClosed` runs whenever one of them closes. Returns the function that stops it.
 */
export declare function drain(lifespan: Lifespan, onClosed: () => void): () => void;
