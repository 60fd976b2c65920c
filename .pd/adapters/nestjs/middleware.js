var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
var __param = (this && this.__param) || function (paramIndex, decorator) {
    return function (target, key) { decorator(target, key, paramIndex); }
};
/**
 * @module
 * The NestJS middleware that runs every HTTP request in its own task scope, on the Express
 * and the Fastify platform alike. {@link LifespanModule} mounts it for all routes.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Lifespan } from '../../index.js';
import { openRequestScope, rawRequest, rawResponse, unavailable } from './request-scope.js';
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
let LifespanMiddleware = class LifespanMiddleware {
    lifespan;
    constructor(lifespan) {
        this.lifespan = lifespan;
    }
    /** Resolves once `next` ran inside the scope; the scope itself lives on until the response is over. */
    async use(req, res, next) {
        const request = rawRequest(req);
        const response = rawResponse(res);
        // Not Node's HTTP objects (an adapter of another kind): the interceptor opens the scope instead.
        if (!request || !response)
            return next();
        try {
            await openRequestScope(this.lifespan, request, response, () => next());
        }
        catch (err) {
            // Thrown rather than passed to next(): Nest's exception layer turns it into a 503 on both platforms.
            throw unavailable(err);
        }
    }
};
LifespanMiddleware = __decorate([
    Injectable(),
    __param(0, Inject(Lifespan)),
    __metadata("design:paramtypes", [Lifespan])
], LifespanMiddleware);
export { LifespanMiddleware };
//# sourceMappingURL=middleware.js.map