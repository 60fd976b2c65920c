/**
 * A NestJS app (Express platform) whose requests each run in their own task scope.
 *
 * Run: `MYSQL_URL=mysql://root@127.0.0.1:3306/test PORT=3000 node examples/.build/nestjs/app.js`
 * (PORT 0, the default, picks a free port; the real one is printed as `listening on <port>`).
 * Stop it with SIGTERM or Ctrl-C: in-flight requests finish, every connection is closed,
 * and the process exits with code 0.
 */
import type { AddressInfo } from 'node:net'
import { Controller, Get, Module } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { RowDataPacket } from 'mysql2'
import { Lifespan } from 'mysql-lifespan'
import { LifespanModule } from 'mysql-lifespan/nestjs'

@Controller()
class AppController {
  // Injected by type (emitDecoratorMetadata); @InjectLifespan() does the same without metadata.
  constructor(private readonly lifespan: Lifespan) {}

  @Get()
  async ok(): Promise<unknown> {
    const [rows] = await this.lifespan.db().query('SELECT 1 AS ok')
    return rows
  }

  @Get('slow')
  async slow(): Promise<{ slept: number }> {
    await this.lifespan.db().query('SELECT SLEEP(0.5)')
    return { slept: 0.5 }
  }

  /** The server-side id of this request's connection, to see which connections the app holds. */
  @Get('id')
  async id(): Promise<{ id: number | undefined }> {
    const [rows] = await this.lifespan.db().query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id')
    return { id: rows[0]?.id }
  }
}

@Module({
  imports: [LifespanModule.forRoot({ databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' } })],
  controllers: [AppController],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] })
// On SIGTERM/SIGINT Nest closes the HTTP server (in-flight requests finish), then
// LifespanModule shuts the lifespan down. Without `useProcessExit`, Nest then re-raises the
// signal and the exit status is 143; with it, the process exits with 0 (1 if a hook failed).
app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true })
await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
console.log(`listening on ${(app.getHttpServer().address() as AddressInfo).port}`)
