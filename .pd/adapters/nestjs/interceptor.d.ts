/**
 * @module
 * The NestJS interceptor that keeps a request's scope open while its controller runs, or
 * opens a task scope of its own where no middleware did (RPC, WebSocket, unmounted routes).
 */
import { type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { Lifespan } from '../../index.js';
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
export declare class LifespanInterceptor implements NestInterceptor {
    private readonly lifespan;
    constructor(lifespan: Lifespan);
    /** Wraps the controller's observable; see the class. */
    intercept(context: ExecutionContext, next: CallHandler): Observable<unknown>;
}
