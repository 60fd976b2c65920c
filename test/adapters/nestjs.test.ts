/**
 * The NestJS adapter against a real server and real HTTP, on the Express and the Fastify
 * platform: request scopes in guards and controllers, release on response end and on client
 * abort, `@InTaskScope()`, module wiring, idle connections past the server's wait_timeout,
 * and a graceful SIGTERM of the compiled example.
 */
import 'reflect-metadata'
import {
  Body,
  type CanActivate,
  Controller,
  type DynamicModule,
  type ExecutionContext,
  Get,
  Inject,
  Injectable,
  type INestApplication,
  Module,
  Post,
  Req,
  SetMetadata,
  UseGuards,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import type { RowDataPacket } from 'mysql2'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { InjectLifespan, InTaskScope, LifespanInterceptor, LifespanMiddleware, LifespanModule } from '../../src/adapters/nestjs/index.js'
import { Lifespan, type ScopeInfo } from '../../src/index.js'
import { type DisposableServer, startDisposableServer } from '../support/disposable-server.js'
import { blockEventLoop, lifespanFor, mysqlUrl, sleep } from '../support/env.js'
import { describeExampleSigterm, getJson, postJsonSlowly, until } from './support/fastify-nestjs-http.js'

type Row = RowDataPacket & { id: number }

/** Lets a test follow the /slow handler after its client went away. */
@Injectable()
class SlowProbe {
  started!: () => void
  finished!: (value: { before: number; after: number; leases: number }) => void
  readonly whenStarted = new Promise<void>((resolve) => (this.started = resolve))
  readonly whenFinished = new Promise<{ before: number; after: number; leases: number }>((resolve) => (this.finished = resolve))
}

/** What {@link ScopeGuard} leaves on the request (Express's, or Fastify's on that platform). */
interface Guarded {
  guardScope?: number | null
}

@Injectable()
class ScopeGuard implements CanActivate {
  constructor(@InjectLifespan() private readonly lifespan: Lifespan) {}
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest<Guarded>().guardScope = this.lifespan.currentScope()?.id ?? null
    return true
  }
}

@Controller()
class ScopeController {
  constructor(
    @InjectLifespan() private readonly lifespan: Lifespan,
    @Inject(SlowProbe) private readonly probe: SlowProbe,
  ) {}

  private async connectionId(): Promise<number> {
    const [rows] = await this.lifespan.db().query<Row[]>('SELECT CONNECTION_ID() AS id')
    return rows[0]!.id
  }

  @Get('scope')
  async scope(): Promise<{ scope: ScopeInfo | null; id: number }> {
    return { scope: this.lifespan.currentScope() ?? null, id: await this.connectionId() }
  }

  @Post('body')
  @UseGuards(ScopeGuard)
  async body(@Body() body: unknown, @Req() request: Guarded): Promise<unknown> {
    return { body, guard: request.guardScope, handler: this.lifespan.currentScope()?.id ?? null, id: await this.connectionId() }
  }

  @Get('guarded')
  @UseGuards(ScopeGuard)
  guarded(@Req() request: Guarded): { guard: number | null | undefined; handler: number | null } {
    return { guard: request.guardScope, handler: this.lifespan.currentScope()?.id ?? null }
  }

  @Get('sleep-id')
  async sleepId(): Promise<{ scope: number | undefined; id: number }> {
    const [rows] = await this.lifespan.db().query<Row[]>('SELECT SLEEP(0.3) AS s, CONNECTION_ID() AS id')
    return { scope: this.lifespan.currentScope()?.id, id: rows[0]!.id }
  }

  @Get('slow')
  async slow(): Promise<{ before: number; after: number }> {
    const before = await this.connectionId()
    const validations = this.lifespan.stats().aliases.default!.validations
    this.probe.started()
    await this.lifespan.db().query('SELECT SLEEP(0.5)')
    const after = await this.connectionId()
    // Still in the request's scope: no new lease (which would validate a connection) for this statement.
    this.probe.finished({ before, after, leases: this.lifespan.stats().aliases.default!.validations - validations })
    return { before, after }
  }
}

@Injectable()
class Jobs {
  constructor(@InjectLifespan() readonly lifespan: Lifespan) {}

  @InTaskScope()
  @SetMetadata('job', 'cleanup')
  async run(tag: string): Promise<{ tag: string; scope: ScopeInfo | undefined; id: number }> {
    const [rows] = await this.lifespan.db().query<Row[]>('SELECT CONNECTION_ID() AS id')
    return { tag, scope: this.lifespan.currentScope(), id: rows[0]!.id }
  }
}

const platforms = {
  express: () => new ExpressAdapter(),
  fastify: () => new FastifyAdapter(),
} as const
type Platform = keyof typeof platforms

const apps: INestApplication[] = []
afterEach(async () => {
  // fetch opens a spare socket after an abort; it would hold close() until the client drops it.
  await Promise.all(apps.splice(0).map((app) => (app.getHttpServer().closeAllConnections(), app.close())))
})

async function startApp(lifespanModule: DynamicModule, platform: Platform = 'express'): Promise<{ app: INestApplication; url: string }> {
  @Module({
    imports: [lifespanModule],
    controllers: [ScopeController],
    providers: [SlowProbe, Jobs, ScopeGuard],
  })
  class TestModule {}
  const app = await NestFactory.create(TestModule, platforms[platform](), { logger: false })
  apps.push(app)
  await app.listen(0, '127.0.0.1')
  return { app, url: await app.getUrl() }
}

describe.each(Object.keys(platforms) as Platform[])('nestjs adapter on the %s platform', (platform) => {
  it('runs guards and the controller in one task scope, also after parsing a JSON body', async () => {
    const lifespan = lifespanFor()
    const { url } = await startApp(LifespanModule.forRoot({ lifespan }), platform)
    const get = await getJson<{ scope: ScopeInfo; id: number }>(`${url}/scope`)
    expect(get.status).toBe(200)
    expect(get.body.scope).toMatchObject({ kind: 'task' })
    const post = await postJsonSlowly<{ body: unknown; handler: number; guard: number }>(`${url}/body`, { order: 7, note: 'y'.repeat(200) })
    expect(post.status).toBe(201)
    expect(post.body.body).toEqual({ order: 7, note: 'y'.repeat(200) })
    expect(post.body.handler).toEqual(expect.any(Number))
    expect(post.body.guard).toBe(post.body.handler)
    expect(post.body.handler).not.toBe(get.body.scope.id)
  })

  it('gives concurrent requests distinct scopes and distinct connections', async () => {
    const lifespan = lifespanFor()
    const { url } = await startApp(LifespanModule.forRoot({ lifespan }), platform)
    const [a, b] = await Promise.all([getJson<{ scope: number; id: number }>(`${url}/sleep-id`), getJson<{ scope: number; id: number }>(`${url}/sleep-id`)])
    expect([a.status, b.status]).toEqual([200, 200])
    expect(a.body.scope).not.toBe(b.body.scope)
    expect(a.body.id).not.toBe(b.body.id)
    await until(() => lifespan.stats().activeScopes === 0, 'the scopes to end')
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
  })

  it('keeps the connection while the controller still runs after a client abort, then releases it', async () => {
    const lifespan = lifespanFor()
    const { app, url } = await startApp(LifespanModule.forRoot({ lifespan }), platform)
    const probe = app.get(SlowProbe)
    const controller = new AbortController()
    const request = getJson(`${url}/slow`, { signal: controller.signal })
    await probe.whenStarted
    controller.abort()
    await expect(request).rejects.toThrow(/abort/i)
    await sleep(100)
    expect(lifespan.stats().aliases.default!.inUse).toBe(1)
    const done = await probe.whenFinished
    expect(done.after).toBe(done.before)
    expect(done.leases).toBe(0)
    await until(() => lifespan.stats().aliases.default!.inUse === 0 && lifespan.stats().activeScopes === 0, 'the aborted request to release its connection')
  })

  it('opens the scope in the interceptor when the middleware is not mounted (guards then run outside it)', async () => {
    const lifespan = lifespanFor()
    const { url } = await startApp(LifespanModule.forRoot({ lifespan, middleware: false }), platform)
    const { status, body } = await getJson<{ scope: ScopeInfo; id: number }>(`${url}/scope`)
    expect(status).toBe(200)
    expect(body.scope).toMatchObject({ kind: 'task' })
    const guarded = await getJson<{ guard: number | null; handler: number | null }>(`${url}/guarded`)
    expect(guarded.body).toEqual({ guard: null, handler: expect.any(Number) })
    await until(() => lifespan.stats().activeScopes === 0, 'the scope to end')
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
  })

  it('answers 503 with the error code once the lifespan has stopped', async () => {
    const lifespan = lifespanFor()
    const { url } = await startApp(LifespanModule.forRoot({ lifespan }), platform)
    await lifespan.shutdown()
    const { status, body } = await getJson<{ code: string }>(`${url}/scope`)
    expect(status).toBe(503)
    expect(body.code).toBe('ERR_LIFESPAN_STOPPED')
  })
})

describe('nestjs adapter: module and decorators', () => {
  it('starts the lifespan on bootstrap and shuts it down when the app closes', async () => {
    const lifespan = lifespanFor()
    const { app } = await startApp(LifespanModule.forRoot({ lifespan }))
    expect(lifespan.state).toBe('running')
    expect(app.get(Lifespan)).toBe(lifespan)
    await app.close()
    expect(lifespan.state).toBe('stopped')
  })

  it('creates the lifespan from options, and from forRootAsync with injected providers', async () => {
    const created = await startApp(LifespanModule.forRoot({ databases: { default: mysqlUrl() }, shutdownTimeoutMs: 2_000 }))
    const fromOptions = created.app.get(Lifespan)
    expect(fromOptions).toBeInstanceOf(Lifespan)
    expect((await getJson<{ scope: ScopeInfo }>(`${created.url}/scope`)).body.scope.kind).toBe('task')

    @Module({ providers: [{ provide: 'MYSQL_URL', useFactory: async () => mysqlUrl() }], exports: ['MYSQL_URL'] })
    class ConfigModule {}
    const viaFactory = await startApp(
      LifespanModule.forRootAsync({ imports: [ConfigModule], inject: ['MYSQL_URL'], useFactory: (url: string) => ({ databases: { default: url } }) }),
    )
    const fromFactory = viaFactory.app.get(Lifespan)
    expect(fromFactory).not.toBe(fromOptions)
    expect(fromFactory.state).toBe('running')
    expect((await getJson<{ scope: ScopeInfo }>(`${viaFactory.url}/scope`)).body.scope.kind).toBe('task')
    await Promise.all(apps.splice(0).map((app) => app.close()))
    expect([fromOptions.state, fromFactory.state]).toEqual(['stopped', 'stopped'])
  })

  it('exports the middleware and the interceptor for manual mounting', async () => {
    const lifespan = lifespanFor()
    const { app } = await startApp(LifespanModule.forRoot({ lifespan }))
    expect(app.get(LifespanMiddleware)).toBeInstanceOf(LifespanMiddleware)
    expect(app.get(LifespanInterceptor)).toBeInstanceOf(LifespanInterceptor)
  })

  it('@InTaskScope() runs each call of a method in a task scope of its own and releases its connection', async () => {
    const lifespan = lifespanFor()
    const { app } = await startApp(LifespanModule.forRoot({ lifespan }))
    const jobs = app.get(Jobs)
    expect(lifespan.currentScope()).toBeUndefined()
    const [a, b] = await Promise.all([jobs.run('a'), jobs.run('b')])
    expect(a).toMatchObject({ tag: 'a', scope: { kind: 'task' } })
    expect(b.scope!.id).not.toBe(a.scope!.id)
    expect(lifespan.stats().activeScopes).toBe(0)
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
    // Called inside a scope, it joins it.
    const joined = await lifespan.scope(async () => [lifespan.currentScope()!.id, (await jobs.run('c')).scope!.id])
    expect(joined[1]).toBe(joined[0])
  })

  it('@InTaskScope() keeps the metadata of other decorators and accepts an explicit lifespan', async () => {
    expect(Reflect.getMetadata('job', Jobs.prototype.run)).toBe('cleanup')
    expect(Jobs.prototype.run.name).toBe('run')
    const lifespan = lifespanFor()
    class Standalone {
      @InTaskScope(lifespan)
      async kind(): Promise<string | undefined> {
        return lifespan.currentScope()?.kind
      }
    }
    expect(await new Standalone().kind()).toBe('task')
  })
})

describe('nestjs adapter: a server that closes idle connections', () => {
  let server: DisposableServer
  beforeAll(async () => {
    server = await startDisposableServer({ waitTimeout: 2 })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('serves every request after the server dropped the pooled connections past wait_timeout', async () => {
    const lifespan = lifespanFor({ url: server.url })
    const { url } = await startApp(LifespanModule.forRoot({ lifespan }))
    const warm = await Promise.all([1, 2, 3].map(() => getJson<{ id: number }>(`${url}/sleep-id`)))
    const warmIds = new Set(warm.map((r) => r.body.id))
    expect(warmIds.size).toBe(3)
    blockEventLoop(3_000)
    const after = await Promise.all([1, 2, 3, 4, 5].map(() => getJson<{ id: number }>(`${url}/scope`)))
    expect(after.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    for (const r of after) expect(warmIds.has(r.body.id)).toBe(false)
  })
})

describeExampleSigterm('nestjs')
