/**
 * @module
 * The NestJS middleware that runs every HTTP request in its own task scope, on the Express
 * and the Fastify platform alike. {@link LifespanModule} mounts it for all routes.
 */
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common'
import { Lifespan } from '../../index.js'
import { openRequestScope, rawRequest, rawResponse, unavailable } from './request-scope.js'

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
@Injectable()
export class LifespanMiddleware implements NestMiddleware {
  constructor(@Inject(Lifespan) private readonly lifespan: Lifespan) {}

  /** Resolves once `next` ran inside the scope; the scope itself lives on until the response is over. */
  async use(req: unknown, res: unknown, next: (error?: unknown) => void): Promise<void> {
    const request = rawRequest(req)
    const response = rawResponse(res)
    // Not Node's HTTP objects (an adapter of another kind): the interceptor opens the scope instead.
    if (!request || !response) return next()
    try {
      await openRequestScope(this.lifespan, request, response, () => next())
    } catch (err) {
      // Thrown rather than passed to next(): Nest's exception layer turns it into a 503 on both platforms.
      throw unavailable(err)
    }
  }
}
