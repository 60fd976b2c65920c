/**
 * @module
 * The NestJS interceptor that keeps a request's scope open while its controller runs, or
 * opens a task scope of its own where no middleware did (RPC, WebSocket, unmounted routes).
 */
import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common'
import { defer, finalize, Observable, type Subscription } from 'rxjs'
import { Lifespan } from '../../index.js'
import { requestScope, unavailable } from './request-scope.js'

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
@Injectable()
export class LifespanInterceptor implements NestInterceptor {
  constructor(@Inject(Lifespan) private readonly lifespan: Lifespan) {}

  /** Wraps the controller's observable; see the class. */
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.getType() === 'http'
    const held = http ? requestScope(context.switchToHttp().getRequest()) : undefined
    if (held) {
      return defer(() => {
        const release = held.hold()
        return next.handle().pipe(finalize(release))
      })
    }
    return new Observable((subscriber) => {
      let inner: Subscription | undefined
      let unsubscribed = false
      let inside = false
      this.lifespan
        .scope(
          () =>
            new Promise<void>((end) => {
              inside = true
              if (unsubscribed) return end()
              // handle() binds the controller call to the async context it is called in: this scope.
              inner = next.handle().pipe(finalize(end)).subscribe(subscriber)
            }), { nested: 'new' })
        .catch((err: unknown) => subscriber.error(http && !inside ? unavailable(err) : err))
      return () => {
        unsubscribed = true
        inner?.unsubscribe()
      }
    })
  }
}
