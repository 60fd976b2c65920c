/**
 * @module
 * The NestJS middleware that runs every HTTP request in its own task scope, on the Express
 * and the Fastify platform alike. {@link LifespanModule} mounts it for all routes.
 */
import { type NestMiddleware } from '@nestjs/common';
import { Lifespan } from '../../index.js';
/**
 * Opens a task scope for the request and runs the rest of the request in it: later
 * middleware, guards, interceptors, pipes and the controller. The scope ends once the
 * response is over (sent, or the client went away) and the controller has settled.
 *
 * Mounted for every route by {@link LifespanModule} unless `middleware: false`; apply it
 * yourself to narrow it to some routes.
 *
 * @throws `ServiceUnavailableException` (503) when the lifespan is shutting down or cannot start.
 * @example
 * ```ts
 * @Module({ imports: [LifespanModule.forRoot({ lifespan, middleware: false })] })
 * export class AppModule implements NestModule {
 *   configure(consumer: MiddlewareConsumer) {
 *     consumer.apply(LifespanMiddleware).forRoutes(OrdersController)
 *   }
 * }
 * ```
 */
export declare class LifespanMiddleware implements NestMiddleware {
    private readonly lifespan;
    constructor(lifespan: Lifespan);
    /** Resolves once `next` ran inside the scope; the scope itself lives on until the response is over. */
    use(req: unknown, res: unknown, next: (error?: unknown) => void): Promise<void>;
}
