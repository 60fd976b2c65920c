/**
 * @module
 * NestJS adapter: `LifespanModule.forRoot()` provides the {@link Lifespan}, runs every HTTP
 * request in its own task scope (Express and Fastify platforms), starts the lifespan on
 * bootstrap and shuts it down with the app; `@InTaskScope()` covers cron jobs and consumers.
 *
 * @example
 * ```ts
 * import { Controller, Get, Module } from '@nestjs/common'
 * import { NestFactory } from '@nestjs/core'
 * import { Lifespan } from 'mysql-lifespan'
 * import { InjectLifespan, LifespanModule } from 'mysql-lifespan/nestjs'
 *
 * @Controller()
 * class HealthController {
 *   constructor(@InjectLifespan() private readonly lifespan: Lifespan) {}
 *   @Get() async check() {
 *     const [rows] = await this.lifespan.db().query('SELECT 1 AS ok')
 *     return rows
 *   }
 * }
 *
 * @Module({ imports: [LifespanModule.forRoot({ databases: { default: process.env.MYSQL_URL! } })], controllers: [HealthController] })
 * class AppModule {}
 *
 * const app = await NestFactory.create(AppModule)
 * app.enableShutdownHooks()
 * await app.listen(3000)
 * ```
 */
export { InjectLifespan, InTaskScope } from './decorator.js';
export { LifespanInterceptor } from './interceptor.js';
export { LifespanMiddleware } from './middleware.js';
export { LifespanModule } from './module.js';
//# sourceMappingURL=index.js.map