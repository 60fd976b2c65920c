import { Lifespan } from '../../index.js';
/** @internal Called by {@link LifespanModule}: the lifespan `@InTaskScope()` uses when given none. */
export declare function registerLifespan(lifespan: Lifespan): void;
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
export declare function InjectLifespan(): PropertyDecorator & ParameterDecorator;
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
export declare function InTaskScope(lifespan?: Lifespan): <T extends (...args: never[]) => Promise<unknown>>(_target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<T>) => void;
