/**
 * @module
 * `LifespanModule`: provides the {@link Lifespan}, mounts the request-scope middleware and
 * interceptor, starts the lifespan on bootstrap and shuts it down with the application.
 */
import { type BeforeApplicationShutdown, type DynamicModule, type FactoryProvider, type MiddlewareConsumer, type ModuleMetadata, type NestModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Lifespan, type LifespanOptions } from '../../index.js';
/** Where the module's lifespan comes from: an existing one, or the options to create one. */
export type LifespanSource = {
    lifespan: Lifespan;
} | LifespanOptions;
/** How {@link LifespanModule} is mounted. */
export interface LifespanModuleOptions {
    /**
     * Registers the module globally, so that every module can inject the {@link Lifespan}.
     *
     * @default true
     */
    global?: boolean;
    /**
     * Mounts {@link LifespanMiddleware} for every route (request scopes from the first middleware on).
     *
     * @default true
     */
    middleware?: boolean;
    /**
     * Registers {@link LifespanInterceptor} as a global interceptor.
     *
     * @default true
     */
    interceptor?: boolean;
}
/** Options of {@link LifespanModule.forRootAsync}. */
export interface LifespanModuleAsyncOptions extends LifespanModuleOptions, Pick<ModuleMetadata, 'imports'> {
    /** Returns the lifespan, or the options to create one, from the injected providers. */
    useFactory: (...args: any[]) => LifespanSource | Promise<LifespanSource>;
    /** Providers passed to `useFactory`. */
    inject?: FactoryProvider['inject'];
}
/**
 * The NestJS module. Provides the {@link Lifespan} under its class (inject it by type or
 * with `@InjectLifespan()`), runs every HTTP request in a task scope (Express and Fastify
 * platforms), starts the lifespan in `onApplicationBootstrap` and shuts it down in
 * `onApplicationShutdown`, after the HTTP server has drained. Shutdown hooks run on
 * `app.close()`; for SIGTERM/SIGINT call `app.enableShutdownHooks()`.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [LifespanModule.forRoot({ databases: { default: process.env.MYSQL_URL! } })],
 *   controllers: [OrdersController],
 * })
 * export class AppModule {}
 *
 * const app = await NestFactory.create(AppModule)
 * app.enableShutdownHooks()
 * await app.listen(3000)
 * ```
 */
export declare class LifespanModule implements NestModule, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
    #private;
    private readonly lifespan;
    private readonly mount;
    constructor(lifespan: Lifespan, mount: LifespanModuleOptions);
    /** Uses the given lifespan, or creates one from {@link LifespanOptions}. */
    static forRoot(options: LifespanSource & LifespanModuleOptions): DynamicModule;
    /**
     * Gets the lifespan (or its options) from a factory, e.g. from `ConfigService`.
     *
     * @example
     * ```ts
     * LifespanModule.forRootAsync({
     *   imports: [ConfigModule],
     *   inject: [ConfigService],
     *   useFactory: (config: ConfigService) => ({ databases: { default: config.getOrThrow('MYSQL_URL') } }),
     * })
     * ```
     */
    static forRootAsync(options: LifespanModuleAsyncOptions): DynamicModule;
    /** @internal Mounts the middleware for every route. */
    configure(consumer: MiddlewareConsumer): void;
    /** @internal Connects every alias and runs the startup hooks before the app listens. */
    onApplicationBootstrap(): Promise<void>;
    /**
     * @internal Runs before the HTTP server closes. The server closes idle keep-alive sockets
     * when it stops, but not those whose response is still in flight, which would then hold the
     * close (and the lifespan's shutdown) for the keep-alive timeout: 5 s on Express, 72 s on
     * Fastify. Their responses say `Connection: close` instead.
     */
    beforeApplicationShutdown(): void;
    /** @internal Runs after the HTTP server closed: drains the remaining scopes, closes every connection. */
    onApplicationShutdown(): Promise<void>;
}
