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
 * `LifespanModule`: provides the {@link Lifespan}, mounts the request-scope middleware and
 * interceptor, starts the lifespan on bootstrap and shuts it down with the application.
 */
import { Inject, Module, RequestMethod, } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { createLifespan, Lifespan } from '../../index.js';
import { registerLifespan } from './decorator.js';
import { LifespanInterceptor } from './interceptor.js';
import { LifespanMiddleware } from './middleware.js';
import { drain } from '../shared/in-flight.js';
const SOURCE = Symbol('mysql-lifespan:source');
const MOUNT = Symbol('mysql-lifespan:mount');
function toLifespan(source) {
    const lifespan = 'lifespan' in source ? source.lifespan : createLifespan(source);
    if (!lifespan || typeof lifespan.scope !== 'function')
        throw new TypeError('LifespanModule: `lifespan` must be a Lifespan from createLifespan()');
    registerLifespan(lifespan);
    return lifespan;
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
let LifespanModule = class LifespanModule {
    lifespan;
    mount;
    #stopDraining;
    constructor(lifespan, mount) {
        this.lifespan = lifespan;
        this.mount = mount;
    }
    /** Uses the given lifespan, or creates one from {@link LifespanOptions}. */
    static forRoot(options) {
        const { global, middleware, interceptor, ...source } = options;
        return build({ global, middleware, interceptor }, { provide: SOURCE, useValue: source }, []);
    }
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
    static forRootAsync(options) {
        const { global, middleware, interceptor, imports, useFactory, inject } = options;
        return build({ global, middleware, interceptor }, { provide: SOURCE, useFactory, inject: inject ?? [] }, imports ?? []);
    }
    /** @internal Mounts the middleware for every route. */
    configure(consumer) {
        if (this.mount.middleware !== false)
            consumer.apply(LifespanMiddleware).forRoutes({ path: '*', method: RequestMethod.ALL });
    }
    /** @internal Connects every alias and runs the startup hooks before the app listens. */
    async onApplicationBootstrap() {
        await this.lifespan.startup();
    }
    /**
     * @internal Runs before the HTTP server closes. The server closes idle keep-alive sockets
     * when it stops, but not those whose response is still in flight, which would then hold the
     * close (and the lifespan's shutdown) for the keep-alive timeout: 5 s on Express, 72 s on
     * Fastify. Their responses say `Connection: close` instead.
     */
    beforeApplicationShutdown() {
        this.#stopDraining ??= drain(this.lifespan, () => { });
    }
    /** @internal Runs after the HTTP server closed: drains the remaining scopes, closes every connection. */
    async onApplicationShutdown() {
        try {
            await this.lifespan.shutdown();
        }
        finally {
            this.#stopDraining?.();
        }
    }
};
LifespanModule = __decorate([
    Module({}),
    __param(0, Inject(Lifespan)),
    __param(1, Inject(MOUNT)),
    __metadata("design:paramtypes", [Lifespan, Object])
], LifespanModule);
export { LifespanModule };
function build(mount, source, imports) {
    return {
        module: LifespanModule,
        global: mount.global ?? true,
        imports,
        providers: [
            source,
            { provide: MOUNT, useValue: mount },
            { provide: Lifespan, useFactory: toLifespan, inject: [SOURCE] },
            LifespanMiddleware,
            LifespanInterceptor,
            ...(mount.interceptor === false ? [] : [{ provide: APP_INTERCEPTOR, useClass: LifespanInterceptor }]),
        ],
        exports: [Lifespan, LifespanMiddleware, LifespanInterceptor],
    };
}
//# sourceMappingURL=module.js.map