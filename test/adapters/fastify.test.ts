/**
 * The Fastify adapter against a real server and real HTTP: request scopes in hooks and
 * handlers, release on response end and on client abort, idle connections past the server's
 * wait_timeout, and a graceful SIGTERM of the compiled example.
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import type { RowDataPacket } from 'mysql2'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import fastifyLifespanDefault, { fastifyLifespan } from '../../src/adapters/fastify.js'
import type { Lifespan, ScopeInfo } from '../../src/index.js'
import { type DisposableServer, startDisposableServer } from '../support/disposable-server.js'
import { blockEventLoop, lifespanFor, sleep } from '../support/env.js'
import { describeExampleSigterm, getJson, postJsonSlowly, until } from './support/fastify-nestjs-http.js'

type Row = RowDataPacket & { id: number }

const apps: FastifyInstance[] = []
afterEach(async () => {
  // fetch opens a spare socket after an abort; it would hold close() until the client drops it.
  await Promise.all(apps.splice(0).map((app) => (app.server.closeAllConnections(), app.close())))
})

/** Created outside any scope: resuming through it drops whatever async context was active. */
const foreign = new AsyncResource('test:foreign-context')

interface TestApp {
  app: FastifyInstance
  url: string
  /** Set by /slow once its handler has finished, with the connection ids it saw before and after sleeping. */
  slow: { started: Promise<void>; finished: Promise<{ before: number; after: number; leases: number }> }
}

async function buildApp(lifespan: Lifespan, extra?: (app: FastifyInstance) => void): Promise<TestApp> {
  const app = Fastify()
  apps.push(app)
  await app.register(fastifyLifespan, { lifespan })
  const seen = new WeakMap<FastifyRequest, Record<string, number | null>>()
  const record = (request: FastifyRequest, hook: string): void => {
    const hooks = seen.get(request) ?? {}
    hooks[hook] = lifespan.currentScope()?.id ?? null
    seen.set(request, hooks)
  }
  extra?.(app)
  const connectionId = async (request: FastifyRequest): Promise<number> => {
    const [rows] = await request.db().query<Row[]>('SELECT CONNECTION_ID() AS id')
    return rows[0]!.id
  }

  app.get('/scope', async (request) => ({ scope: lifespan.currentScope() ?? null, id: await connectionId(request) }))
  app.get('/sleep-id', async (request) => {
    const [rows] = await request.db().query<Row[]>('SELECT SLEEP(0.3) AS s, CONNECTION_ID() AS id')
    return { scope: lifespan.currentScope()?.id, id: rows[0]!.id }
  })
  app.post(
    '/hooks',
    {
      onRequest: async (request) => record(request, 'onRequest'),
      preValidation: async (request) => record(request, 'preValidation'),
      preHandler: async (request) => record(request, 'preHandler'),
    },
    async (request) => {
      record(request, 'handler')
      return { hooks: seen.get(request), body: request.body, id: await connectionId(request) }
    },
  )

  let started!: () => void
  let finished!: (value: { before: number; after: number; leases: number }) => void
  const slow = {
    started: new Promise<void>((resolve) => (started = resolve)),
    finished: new Promise<{ before: number; after: number; leases: number }>((resolve) => (finished = resolve)),
  }
  app.get('/slow', async (request) => {
    const before = await connectionId(request)
    const validations = lifespan.stats().aliases.default!.validations
    started()
    await request.db().query('SELECT SLEEP(0.5)')
    const after = await connectionId(request)
    // Still in the request's scope: no new lease (which would validate a connection) for this statement.
    finished({ before, after, leases: lifespan.stats().aliases.default!.validations - validations })
    return { before, after }
  })

  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, slow }
}

describe('fastify adapter: request scopes', () => {
  it('exports the plugin as default and named, with fastify-plugin metadata', () => {
    expect(fastifyLifespanDefault).toBe(fastifyLifespan)
    const meta = (fastifyLifespan as unknown as Record<symbol, unknown>)[Symbol.for('plugin-meta')] as { name: string; fastify: string }
    expect(meta).toMatchObject({ name: 'mysql-lifespan', fastify: '5.x' })
  })

  it('decorates the instance, starts the lifespan on ready and shuts it down on close', async () => {
    const lifespan = lifespanFor()
    const app = Fastify()
    await app.register(fastifyLifespan, { lifespan })
    expect(lifespan.state).toBe('created')
    await app.ready()
    expect(app.lifespan).toBe(lifespan)
    expect(lifespan.state).toBe('running')
    await app.close()
    expect(lifespan.state).toBe('stopped')
  })

  it('rejects a missing lifespan option at registration', async () => {
    const app = Fastify()
    await expect(app.register(fastifyLifespan, {} as never)).rejects.toThrow(/`lifespan` option/)
  })

  it('runs the handler in a task scope of its own, with request.db() on the scope connection', async () => {
    const lifespan = lifespanFor()
    const { url } = await buildApp(lifespan)
    const { status, body } = await getJson<{ scope: ScopeInfo; id: number }>(`${url}/scope`)
    expect(status).toBe(200)
    expect(body.scope).toMatchObject({ kind: 'task' })
    expect(body.id).toBeGreaterThan(0)
    await until(() => lifespan.stats().activeScopes === 0, 'the scope to end')
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
  })

  it('keeps the scope in onRequest, preValidation, preHandler and the handler after a JSON body was parsed', async () => {
    const lifespan = lifespanFor()
    const { url } = await buildApp(lifespan)
    const { status, body } = await postJsonSlowly<{ hooks: Record<string, number | null>; body: unknown }>(`${url}/hooks`, { order: 42, note: 'x'.repeat(200) })
    expect(status).toBe(200)
    expect(body.body).toEqual({ order: 42, note: 'x'.repeat(200) })
    const ids = Object.values(body.hooks)
    expect(Object.keys(body.hooks)).toEqual(['onRequest', 'preValidation', 'preHandler', 'handler'])
    expect(ids[0]).toEqual(expect.any(Number))
    expect(new Set(ids).size).toBe(1)
  })

  it('re-enters the scope in preValidation when a preParsing hook resumed in another async context', async () => {
    const lifespan = lifespanFor()
    const naive = new AsyncLocalStorage<string>()
    const { url } = await buildApp(lifespan, (app) => {
      // What a plugin that only wraps onRequest would see.
      app.addHook('onRequest', (_request, _reply, done) => naive.run('set in onRequest', done))
      app.addHook('preParsing', (_request, _reply, payload, done) => {
        setTimeout(() => foreign.runInAsyncScope(() => done(null, payload)), 5)
      })
      app.post('/after-parsing', async () => ({ naive: naive.getStore() ?? null, scope: lifespan.currentScope()?.id ?? null }))
    })
    const { status, body } = await getJson<{ naive: string | null; scope: number | null }>(`${url}/after-parsing`, { body: { a: 1 } })
    expect(status).toBe(200)
    expect(body.naive).toBeNull()
    expect(body.scope).toEqual(expect.any(Number))
  })

  it('gives concurrent requests distinct scopes and distinct connections', async () => {
    const lifespan = lifespanFor()
    const { url } = await buildApp(lifespan)
    const [a, b] = await Promise.all([getJson<{ scope: number; id: number }>(`${url}/sleep-id`), getJson<{ scope: number; id: number }>(`${url}/sleep-id`)])
    expect(a.status).toBe(200)
    expect(b.status).toBe(200)
    expect(a.body.scope).not.toBe(b.body.scope)
    expect(a.body.id).not.toBe(b.body.id)
  })

  it('releases the connection when the response has been sent', async () => {
    const lifespan = lifespanFor()
    const { url } = await buildApp(lifespan)
    await Promise.all([1, 2, 3].map(() => getJson(`${url}/sleep-id`)))
    await until(() => lifespan.stats().activeScopes === 0, 'the scopes to end')
    const stats = lifespan.stats().aliases.default!
    expect(stats.inUse).toBe(0)
    expect(stats.idle).toBe(stats.open)
  })

  it('keeps the connection while the handler still runs after a client abort, then releases it', async () => {
    const lifespan = lifespanFor()
    const { url, slow } = await buildApp(lifespan)
    const controller = new AbortController()
    const request = getJson(`${url}/slow`, { signal: controller.signal })
    await slow.started
    controller.abort()
    await expect(request).rejects.toThrow(/abort/i)
    await sleep(100)
    // The handler is inside SLEEP(0.5): releasing its connection now would hand a busy connection to the pool.
    expect(lifespan.stats().aliases.default!.inUse).toBe(1)
    const done = await slow.finished
    expect(done.after).toBe(done.before)
    expect(done.leases).toBe(0)
    await until(() => lifespan.stats().aliases.default!.inUse === 0 && lifespan.stats().activeScopes === 0, 'the aborted request to release its connection')
  })

  it('answers 503 while the lifespan is shutting down', async () => {
    const lifespan = lifespanFor()
    const { url } = await buildApp(lifespan)
    await lifespan.shutdown()
    const { status, body } = await getJson<{ code: string }>(`${url}/scope`)
    expect(status).toBe(503)
    expect(body.code).toBe('ERR_LIFESPAN_STOPPED')
  })
})

describe('fastify adapter: a server that closes idle connections', () => {
  let server: DisposableServer
  beforeAll(async () => {
    server = await startDisposableServer({ waitTimeout: 2 })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('serves every request after the server dropped the pooled connections past wait_timeout', async () => {
    const lifespan = lifespanFor({ url: server.url })
    const { url } = await buildApp(lifespan)
    const warm = await Promise.all([1, 2, 3].map(() => getJson<{ id: number }>(`${url}/sleep-id`)))
    const warmIds = new Set(warm.map((r) => r.body.id))
    expect(warmIds.size).toBe(3)
    // The server closes the idle sessions while this process cannot notice it.
    blockEventLoop(3_000)
    const after = await Promise.all([1, 2, 3, 4, 5].map(() => getJson<{ id: number }>(`${url}/scope`)))
    expect(after.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    for (const r of after) expect(warmIds.has(r.body.id)).toBe(false)
  })
})

describeExampleSigterm('fastify')
