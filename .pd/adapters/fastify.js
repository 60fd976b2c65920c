/**
 * @module
 * Fastify adapter: every request runs in its own task scope; the lifespan starts when the
 * app is ready and shuts down when it closes.
 *
 * @example
 * ```ts
 * const app = Fastify()
 * await app.register(fastifyLifespan, { lifespan })
 * app.get('/', async (request) => (await request.db().query('SELECT 1 AS ok'))[0])
 * await app.listen({ port: 3000 })
 * process.once('SIGTERM', () => void app.close())
 * ```
 */
import { AsyncResource } from 'node:async_hooks';
import fp from 'fastify-plugin';
import { ErrorCodes } from '../index.js';
import { drain, track } from './shared/in-flight.js';
const scopes = new WeakMap();
function settle(scope, change) {
    scope.running += change.running ?? 0;
    scope.over ||= change.over === true;
    if (scope.over && scope.running === 0)
        scope.end();
}
const plugin = (fastify, options, done) => {
    const { lifespan } = options;
    if (!lifespan || typeof lifespan.scope !== 'function') {
        done(new TypeError('mysql-lifespan/fastify: the `lifespan` option must be a Lifespan from createLifespan()'));
        return;
    }
    fastify.decorate('lifespan', lifespan);
    fastify.decorateRequest('db', function db(alias) {
        return lifespan.db(alias);
    });
    fastify.addHook('onRequest', (request, reply, next) => {
        let entered = false;
        lifespan
            .scope(() => new Promise((end) => {
            entered = true;
            const scope = { resource: new AsyncResource('mysql-lifespan:request'), running: 0, over: false, end };
            scopes.set(request, scope);
            // 'close' follows both a finished response and an aborted one; onResponse misses aborts.
            if (reply.raw.closed)
                settle(scope, { over: true });
            else
                reply.raw.once('close', () => settle(scope, { over: true }));
            track(lifespan, reply.raw);
            next();
        }), { nested: 'new' })
            .catch((err) => {
            // After entry the rejection means the scope was interrupted at a shutdown deadline;
            // the handler's own statements reject with the same error, so there is nothing to answer.
            if (entered)
                return;
            const code = err?.code;
            const refused = code === ErrorCodes.SHUTTING_DOWN || code === ErrorCodes.STOPPED;
            reply.code(503);
            // Other failures (the database unreachable at a lazy startup) are not described to the client.
            next(refused ? err : new Error('The database is unavailable.', { cause: err }));
        });
    });
    // Fastify resumes after body parsing (or a preParsing hook) in whatever async context
    // finished it; fastify 5 binds its own parsers, but custom ones and older 5.x do not.
    fastify.addHook('preValidation', (request, _reply, next) => {
        const scope = scopes.get(request);
        if (scope)
            scope.resource.runInAsyncScope(next);
        else
            next();
    });
    // When the client aborts, the response closes while the handler may still be running its
    // statements: the scope (and its connection) must outlive the handler, so handlers are counted.
    fastify.addHook('onRoute', (route) => {
        const handler = route.handler;
        route.handler = function countedHandler(request, reply) {
            const scope = scopes.get(request);
            if (!scope)
                return handler.call(this, request, reply);
            settle(scope, { running: 1 });
            const finished = () => settle(scope, { running: -1 });
            try {
                const result = handler.call(this, request, reply);
                if (typeof result?.then === 'function')
                    result.then(finished, finished);
                else
                    finished();
                return result;
            }
            catch (err) {
                finished();
                throw err;
            }
        };
    });
    // Fastify's own close waits for every socket, and one whose response was in flight when it
    // began stays open for `keepAliveTimeout` (72 s by default, fastify/fastify#7044), holding the
    // lifespan's shutdown: those responses (tracked in onRequest) say `Connection: close` instead.
    let stopDraining;
    fastify.addHook('preClose', (next) => {
        stopDraining = drain(lifespan, () => { });
        next();
    });
    fastify.addHook('onReady', () => lifespan.startup());
    // Fastify's own onClose, which waits for in-flight requests, runs before the ones of plugins.
    fastify.addHook('onClose', async () => {
        try {
            await lifespan.shutdown();
        }
        finally {
            stopDraining?.();
        }
    });
    done();
};
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
export const fastifyLifespan = fp(plugin, { fastify: '5.x', name: 'mysql-lifespan' });
export default fastifyLifespan;
//# sourceMappingURL=fastify.js.map