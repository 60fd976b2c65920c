import type { FastifyPluginCallback } from 'fastify';
import { type Database, type Lifespan } from '../index.js';
declare module 'fastify' {
    interface FastifyInstance {
        /** The lifespan registered with {@link fastifyLifespan}. */
        lifespan: Lifespan;
    }
    interface FastifyRequest {
        /** `lifespan.db(alias)`: statements run on the connection of this request's scope. */
        db: (alias?: string) => Database;
    }
}
/** Options of {@link fastifyLifespan}. */
export interface FastifyLifespanOptions {
    /** The process's lifespan. The plugin starts it on `onReady` and shuts it down on `onClose`. */
    lifespan: Lifespan;
}
/**
 * The Fastify plugin: decorates `fastify.lifespan` and `request.db()`, runs every request in
 * its own task scope (visible in hooks from `onRequest` on and in the handler), starts the
 * lifespan on `onReady` and shuts it down (draining open scopes) on `onClose`.
 *
 * A request's scope ends, and its connections go back to the pool, once the response has been
 * sent or the client went away, and the route handler has settled. While the lifespan is
 * shutting down, new requests are answered with 503.
 *
 * Register it before the routes and hooks that use the database: hooks and routes added
 * earlier do not see the scope.
 *
 * @example
 * ```ts
 * await app.register(fastifyLifespan, { lifespan })
 * app.get('/users/:id', async (request) => {
 *   const [rows] = await request.db().query('SELECT * FROM users WHERE id = ?', [request.params.id])
 *   return rows
 * })
 * ```
 */
export declare const fastifyLifespan: FastifyPluginCallback<FastifyLifespanOptions>;
export default fastifyLifespan;
