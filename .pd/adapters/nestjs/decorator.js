/**
 * @module
 * Decorators: `@InjectLifespan()` for injection, `@InTaskScope()` for entry points that are
 * not HTTP requests (cron jobs, queue consumers, event handlers, CLI commands).
 */
import { Inject } from '@nestjs/common';
import { ErrorCodes, Lifespan, LifespanError } from '../../index.js';
let registered;
/** @internal Called by {@link LifespanModule}: the lifespan `@InTaskScope()` uses when given none. */
export function registerLifespan(lifespan) {
    registered = lifespan;
}
/**
 * Injects the module's {@link Lifespan}. Same as `@Inject(Lifespan)`, and needed where type
 * metadata is not emitted (esbuild, SWC without `decoratorMetadata`).
 *
 * @example
 * ```ts
 * @Injectable()
 * export class OrdersService {
 *   constructor(@InjectLifespan() private readonly lifespan: Lifespan) {}
 * }
 * ```
 */
export function InjectLifespan() {
    return Inject(Lifespan);
}
/**
 * Runs every call of the decorated async method in a task scope of its own (or, called
 * inside a scope, in that one), so its connections are validated on entry and released
 * when the returned promise settles. Metadata of other decorators on the method (`@Cron`,
 * `@EventPattern`, ...) is kept whatever their order.
 *
 * @param lifespan The lifespan to use; by default the one of the last `LifespanModule` created.
 * @throws {LifespanError} `ERR_LIFESPAN_INVALID_STATE` when called before any `LifespanModule` was set up and none was given.
 * @example
 * ```ts
 * @Injectable()
 * export class ReportJob {
 *   constructor(@InjectLifespan() private readonly lifespan: Lifespan) {}
 *
 *   @Cron('0 * * * *')
 *   @InTaskScope()
 *   async run(): Promise<void> {
 *     await this.lifespan.db().execute('DELETE FROM sessions WHERE expires_at < NOW()')
 *   }
 * }
 * ```
 */
export function InTaskScope(lifespan) {
    return function decorate(_target, key, descriptor) {
        const method = descriptor.value;
        if (typeof method !== 'function')
            throw new TypeError(`@InTaskScope() decorates methods; \`${String(key)}\` is not one`);
        const scoped = function (...args) {
            const target = lifespan ?? registered;
            if (!target) {
                return Promise.reject(new LifespanError(`@InTaskScope() on \`${String(key)}\` ran before any LifespanModule was set up; import LifespanModule.forRoot() or pass the lifespan.`, {
                    code: ErrorCodes.INVALID_STATE,
                }));
            }
            return target.scope(() => method.apply(this, args));
        };
        Object.defineProperty(scoped, 'name', { value: method.name });
        // Decorators applied before this one stored their metadata on the original function.
        const reflect = Reflect;
        for (const metaKey of reflect.getOwnMetadataKeys?.(method) ?? [])
            reflect.defineMetadata(metaKey, reflect.getOwnMetadata(metaKey, method), scoped);
        descriptor.value = scoped;
    };
}
//# sourceMappingURL=decorator.js.map