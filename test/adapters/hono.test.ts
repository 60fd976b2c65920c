import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import { describe, expect, it } from 'vitest'
import { closeGracefully, lifespanMiddleware } from '../../src/adapters/hono.js'
import type { Lifespan } from '../../src/index.js'
import { lifespanFor } from '../support/env.js'
import { describeWebAdapter, eventually, route, type RunningApp } from './support/web-suite.js'

async function listen(app: Hono, lifespan: Lifespan): Promise<RunningApp> {
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolve({ server: s, port: info.port }))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    closeGracefully: (options) => closeGracefully(server, lifespan, options),
    close: async () => {
      if ('closeAllConnections' in server) server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

describeWebAdapter('hono', {
  example: 'hono',
  start(lifespan) {
    const app = new Hono()
    app.use(lifespanMiddleware(lifespan))
    app.get('*', async (c) => c.json(await route(lifespan, c.req.path)))
    return listen(app, lifespan)
  },
})

describe('hono adapter, Hono specifics', () => {
  it('opens a scope in app.request() too (no Node response: the scope lasts as long as the handlers)', async () => {
    const lifespan = lifespanFor()
    const app = new Hono()
    app.use(lifespanMiddleware(lifespan))
    app.get('/', async (c) => {
      const [rows] = await lifespan.db().query('SELECT 1 AS ok')
      return c.json({ rows, scope: lifespan.currentScope() })
    })
    const res = await app.request('/')
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    expect(body.rows).toEqual([{ ok: 1 }])
    expect(body.scope.kind).toBe('task')
    expect(lifespan.stats().aliases.default?.inUse).toBe(0)
  })

  it('keeps the scope and its connection while c.stream() is still writing (node-server)', async () => {
    const lifespan = lifespanFor()
    const app = new Hono()
    app.use(lifespanMiddleware(lifespan))
    app.get('/', (c) =>
      stream(c, async (out) => {
        for (let i = 0; i < 3; i++) {
          const [rows] = await lifespan.db().query<Array<{ id: number } & Record<string, unknown>>>('SELECT CONNECTION_ID() AS id, SLEEP(0.05) AS s')
          await out.write(`${rows[0]?.id} ${lifespan.currentScope()?.id}\n`)
        }
      }),
    )
    const running = await listen(app, lifespan)
    try {
      const lines = (await (await fetch(running.url)).text()).trim().split('\n')
      expect(lines).toHaveLength(3)
      expect(new Set(lines).size).toBe(1)
      await eventually(() => lifespan.stats().aliases.default?.inUse === 0 && lifespan.stats().activeScopes === 0, 1_000, 'released')
    } finally {
      await running.close()
    }
  })

  it('lets handler errors reach app.onError', async () => {
    const lifespan = lifespanFor()
    const app = new Hono()
    app.use(lifespanMiddleware(lifespan))
    app.get('/', async () => {
      await lifespan.db().query('SELECT 1')
      throw new Error('boom')
    })
    app.onError((err, c) => c.json({ error: err.message, scope: lifespan.currentScope()?.kind }, 500))
    const res = await app.request('/')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: 'boom', scope: 'task' })
  })
})
