import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import Koa from 'koa'
import { describe, expect, it } from 'vitest'
import { closeGracefully, lifespanMiddleware } from '../../src/adapters/koa.js'
import type { Lifespan } from '../../src/index.js'
import { lifespanFor } from '../support/env.js'
import { describeWebAdapter, eventually, route, type RunningApp } from './support/web-suite.js'

async function listen(app: Koa, lifespan: Lifespan): Promise<RunningApp> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closeGracefully: (options) => closeGracefully(server, lifespan, options),
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

describeWebAdapter('koa', {
  example: 'koa',
  start(lifespan) {
    const app = new Koa()
    app.use(lifespanMiddleware(lifespan))
    app.use(async (ctx) => {
      ctx.body = await route(lifespan, ctx.path)
    })
    return listen(app, lifespan)
  },
})

describe('koa adapter, Koa specifics', () => {
  it('keeps the scope and its connection while a streamed body is still being written', async () => {
    const lifespan = lifespanFor()
    const app = new Koa()
    app.use(lifespanMiddleware(lifespan))
    app.use(async (ctx) => {
      const body = new PassThrough()
      ctx.body = body
      // Written after the middleware chain returned: only the response's close ends the scope.
      void (async () => {
        for (let i = 0; i < 3; i++) {
          const [rows] = await lifespan.db().query<Array<{ id: number } & Record<string, unknown>>>('SELECT CONNECTION_ID() AS id, SLEEP(0.05) AS s')
          body.write(`${rows[0]?.id} ${lifespan.currentScope()?.id}\n`)
        }
        body.end()
      })()
    })
    const running = await listen(app, lifespan)
    try {
      const lines = (await (await fetch(running.url)).text()).trim().split('\n')
      expect(lines).toHaveLength(3)
      expect(new Set(lines).size).toBe(1) // one connection, one scope
      await eventually(() => lifespan.stats().aliases.default?.inUse === 0 && lifespan.stats().activeScopes === 0, 1_000, 'released')
    } finally {
      await running.close()
    }
  })

  it('lets errors thrown downstream reach Koa error handling and releases the connection', async () => {
    const lifespan = lifespanFor()
    const app = new Koa()
    app.silent = true
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (err) {
        ctx.status = 500
        ctx.body = { error: (err as Error).message }
      }
    })
    app.use(lifespanMiddleware(lifespan))
    app.use(async () => {
      await lifespan.db().query('SELECT 1')
      throw new Error('boom')
    })
    const running = await listen(app, lifespan)
    try {
      const res = await fetch(running.url)
      expect(res.status).toBe(500)
      expect(await res.json()).toEqual({ error: 'boom' })
      await eventually(() => lifespan.stats().aliases.default?.inUse === 0, 1_000, 'released')
    } finally {
      await running.close()
    }
  })
})
