/**
 * @module
 * `LifespanModule`: provides the {@link Lifespan}, mounts the request-scope middleware and
 * interceptor, starts the lifespan on bootstrap and shuts it down with the application.
 */
import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  type FactoryProvider,
  Inject,
  type MiddlewareConsumer,
  Module,
  type ModuleMetadata,
  type NestModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
  RequestMethod,
} from '@nestjs/common'
import { APP_INTERCEPTOR } from '@nestjs/core'
import { createLifespan, Lifespan, type LifespanOptions } from '../../index.js'
import { registerLifespan } from './decorator.js'
import { LifespanInterceptor } from './interceptor.js'
import { LifespanMiddleware } from './middleware.js'
import { drain } from '../shared/in-flight.js'

/** Where the module's lifespan comes from: an existing one, or the options to create one. */
export type LifespanSource = { lifespan: Lifespan } | LifespanOptions

/** How {@link LifespanModule} is mounted. */
export interface LifespanModuleOptions {
  /**
   * Registers the module globally, so that every module can inject the {@link Lifespan}.
   *
   * @default true
   */
  global?: boolean
  /**
   * Mounts {@link LifespanMiddleware} for every route (request scopes from the first middleware on).
   *
   * @default true
   */
  middleware?: boolean
  /**
   * Registers {@link LifespanInterceptor} as a global interceptor.
   *
   * @default true
   */
  interceptor?: boolean
}

/** Options of {@link LifespanModule.forRootAsync}. */
export interface LifespanModuleAsyncOptions extends LifespanModuleOptions, Pick<ModuleMetadata, 'imports'> {
  /** Returns the lifespan, or the options to create one, from the injected providers. */
  useFactory: (...args: any[]) => LifespanSource | Promise<LifespanSource>
  /** Providers passed to `useFactory`. */
  inject?: FactoryProvider['inject']
}

const SOURCE = Symbol('mysql-lifespan:source')
const MOUNT = Symbol('mysql-lifespan:mount')

function toLifespan(source: LifespanSource): Lifespan {
  const lifespan = 'lifespan' in source ? source.lifespan : createLifespan(source)
  if (!lifespan || typeof lifespan.scope !== 'function') throw new TypeError('LifespanModule: `lifespan` must be a Lifespan from createLifespan()')
  registerLifespan(lifespan)
  return lifespan
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
@Module({})
export class LifespanModule implements NestModule, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  #stopDraining: (() => void) | undefined

  constructor(
    @Inject(Lifespan) private readonly lifespan: Lifespan,
    @Inject(MOUNT) private readonly mount: LifespanModuleOptions,
  ) {}

  /** Uses the given lifespan, or creates one from {@link LifespanOptions}. */
  static forRoot(options: LifespanSource & LifespanModuleOptions): DynamicModule {
    const { global, middleware, interceptor, ...source } = options as LifespanSource & LifespanModuleOptions
    return build({ global, middleware, interceptor }, { provide: SOURCE, useValue: source }, [])
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
  static forRootAsync(options: LifespanModuleAsyncOptions): DynamicModule {
    const { global, middleware, interceptor, imports, useFactory, inject } = options
    return build({ global, middleware, interceptor }, { provide: SOURCE, useFactory, inject: inject ?? [] }, imports ?? [])
  }

  /** @internal Mounts the middleware for every route. */
  configure(consumer: MiddlewareConsumer): void {
    if (this.mount.middleware !== false) consumer.apply(LifespanMiddleware).forRoutes({ path: '*', method: RequestMethod.ALL })
  }

  /** @internal Connects every alias and runs the startup hooks before the app listens. */
  async onApplicationBootstrap(): Promise<void> {
    await this.lifespan.startup()
  }

  /**
   * @internal Runs before the HTTP server closes. The server closes idle keep-alive sockets
   * when it stops, but not those whose response is still in flight, which would then hold the
   * close (and the lifespan's shutdown) for the keep-alive timeout: 5 s on Express, 72 s on
   * Fastify. Their responses say `Connection: close` instead.
   */
  beforeApplicationShutdown(): void {
    this.#stopDraining ??= drain(this.lifespan, () => {})
  }

  /** @internal Runs after the HTTP server closed: drains the remaining scopes, closes every connection. */
  async onApplicationShutdown(): Promise<void> {
    try {
      await this.lifespan.shutdown()
    } finally {
      this.#stopDraining?.()
    }
  }
}

function build(mount: LifespanModuleOptions, source: Provider, imports: NonNullable<ModuleMetadata['imports']>): DynamicModule {
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
  }
}
