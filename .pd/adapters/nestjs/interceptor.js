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
 * The NestJS interceptor that keeps a request's scope open while its controller runs, or
 * opens a task scope of its own where no middleware did (RPC, WebSocket, unmounted routes).
 */
import { Inject, Injectable } from '@nestjs/common';
import { defer, finalize, Observable } from 'rxjs';
import { Lifespan } from '../../index.js';
import { requestScope, unavailable } from './request-scope.js';
/**
 * Registered globally by {@link LifespanModule} (unless `interceptor: false`). Inside a
 * request scope opened by {@link LifespanMiddleware}, it holds that scope until the
 * controller's result settles, so a client abort does not release a connection the
 * controller is still using. Elsewhere it runs the controller in a task scope of its own.
 *
 * @example
 * ```ts
 * @Controller()
 * @UseInterceptors(LifespanInterceptor)   // already global unless `interceptor: false`
 * export class JobsController {
 *   constructor(@InjectLifespan() private readonly lifespan: Lifespan) {}
 *
 *   @EventPattern('job.created')
 *   async onJob(data: { id: number }) {
 *     await this.lifespan.db().execute('INSERT INTO seen (job_id) VALUES (?)', [data.id])
 *   }
 * }
 * ```
 */
let LifespanInterceptor = class LifespanInterceptor {
    lifespan;
    constructor(lifespan) {
        this.lifespan = lifespan;
    }
    /** Wraps the controller's observable; see the class. */
    intercept(context, next) {
        const http = context.getType() === 'http';
        const held = http ? requestScope(context.switchToHttp().getRequest()) : undefined;
        if (held) {
            return defer(() => {
                const release = held.hold();
                return next.handle().pipe(finalize(release));
            });
        }
        return new Observable((subscriber) => {
            let inner;
            let unsubscribed = false;
            let inside = false;
            this.lifespan
                .scope(() => new Promise((end) => {
                inside = true;
                if (unsubscribed)
                    return end();
                // handle() binds the controller call to the async context it is called in: this scope.
                inner = next.handle().pipe(finalize(end)).subscribe(subscriber);
            }), { nested: 'new' })
                .catch((err) => subscriber.error(http && !inside ? unavailable(err) : err));
            return () => {
                unsubscribed = true;
                inner?.unsubscribe();
            };
        });
    }
};
LifespanInterceptor = __decorate([
    Injectable(),
    __param(0, Inject(Lifespan)),
    __metadata("design:paramtypes", [Lifespan])
], LifespanInterceptor);
export { LifespanInterceptor };
//# sourceMappingURL=interceptor.js.map