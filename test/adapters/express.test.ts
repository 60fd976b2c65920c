import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { closeGracefully, lifespanMiddleware } from '../../src/adapters/express.js'
import type { Lifespan } from '../../src/index.js'
import { lifespanFor, mysqlUrl } from '../support/env.js'
import { describeWebAdapter, route, type RunningApp } from './support/web-suite.js'

async function listen(app: express.Express, lifespan: Lifespan): Promise<RunningApp> {
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

function appFor(lifespan: Lifespan): express.Express {
  const app = express()
  app.use(lifespanMiddleware(lifespan))
  return app
}

describeWebAdapter('express', {
  example: 'express',
  start(lifespan) {
    const app = appFor(lifespan)
    app.get(/.*/, async (req, res) => {
      res.json(await route(lifespan, req.path))
    })
    return listen(app, lifespan)
  },
})

describe('express adapter, Express specifics', () => {
  it('keeps the scope through a body parser registered after it', async () => {
    const lifespan = lifespanFor()
    const app = appFor(lifespan)
    app.use(express.json())
    app.post('/echo', async (req, res) => {
      const [rows] = await lifespan.db().query<Array<{ v: number } & Record<string, unknown>>>('SELECT ? AS v', [req.body.v])
      res.json({ v: rows[0]?.v, scope: lifespan.currentScope() })
    })
    const running = await listen(app, lifespan)
    try {
      const res = await fetch(`${running.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ v: 7 }) })
      const body = (await res.json()) as any
      expect(body.v).toBe(7)
      expect(body.scope.kind).toBe('task')
    } finally {
      await running.close()
    }
  })

  it('sends errors thrown synchronously or asynchronously by handlers to the error handler, and releases', async () => {
    const lifespan = lifespanFor()
    const app = appFor(lifespan)
    app.get('/sync', () => {
      throw new Error('sync boom')
    })
    app.get('/async', async () => {
      await lifespan.db().query('SELECT 1')
      throw new Error('async boom')
    })
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: err.message, scope: lifespan.currentScope()?.kind })
    })
    const running = await listen(app, lifespan)
    try {
      for (const path of ['sync', 'async']) {
        const res = await fetch(`${running.url}/${path}`)
        expect(res.status).toBe(500)
        expect(await res.json()).toEqual({ error: `${path} boom`, scope: 'task' })
      }
      expect(lifespan.stats().aliases.default?.inUse).toBe(0)
    } finally {
      await running.close()
    }
  })

  it('passes a failure to open the scope (startup refused: bad credentials) to next(err)', async () => {
    const url = new URL(mysqlUrl())
    url.username = 'lifespan_nobody'
    url.password = 'wrong'
    const lifespan = lifespanFor({ url: url.toString(), acquireTimeoutMs: 1_000 })
    const app = appFor(lifespan)
    app.get('/', (_req, res) => {
      res.send('unreachable')
    })
    app.use((err: Error & { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ code: err.code })
    })
    const running = await listen(app, lifespan)
    try {
      const res = await fetch(`${running.url}/`)
      expect(res.status).toBe(500)
      expect(((await res.json()) as { code?: string }).code).toMatch(/^ER_ACCESS_DENIED/)
    } finally {
      await running.close()
    }
  })
})
