import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { closeGracefully, shutdownOnSignals, wrapHandler } from '../../src/adapters/http.js'
import type { Lifespan } from '../../src/index.js'
import { lifespanFor } from '../support/env.js'
import { describeWebAdapter, eventually, route, type RunningApp } from './support/web-suite.js'

async function listen(lifespan: Lifespan, handler: (req: IncomingMessage, res: ServerResponse) => unknown): Promise<RunningApp> {
  const server = createServer(wrapHandler(lifespan, handler))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closeGracefully: (options) => closeGracefully(server, lifespan, options),
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

describeWebAdapter('http', {
  example: 'http',
  start(lifespan) {
    return listen(lifespan, async (req, res) => {
      const body = await route(lifespan, new URL(req.url ?? '/', 'http://x').pathname)
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
    })
  },
})

describe('http adapter, node:http specifics', () => {
  it('keeps the connection for statements run after res.end(), and releases it when the handler settles', async () => {
    const lifespan = lifespanFor()
    let after: { id: unknown; scope: unknown } | undefined
    const app = await listen(lifespan, async (_req, res) => {
      const [first] = await lifespan.db().query<Array<{ id: number } & Record<string, unknown>>>('SELECT CONNECTION_ID() AS id')
      res.end(String(first[0]?.id))
      await new Promise((resolve) => res.once('close', resolve))
      const [again] = await lifespan.db().query<Array<{ id: number } & Record<string, unknown>>>('SELECT CONNECTION_ID() AS id, SLEEP(0.1) AS s')
      after = { id: again[0]?.id, scope: lifespan.currentScope()?.kind }
    })
    try {
      const id = Number(await (await fetch(app.url)).text())
      await eventually(() => after !== undefined, 2_000, 'the statement after res.end() ran')
      expect(after).toEqual({ id, scope: 'task' })
      await eventually(() => lifespan.stats().aliases.default?.inUse === 0 && lifespan.stats().activeScopes === 0, 1_000, 'released')
    } finally {
      await app.close()
    }
  })

  it('returns handler errors (sync and async) as a rejection of the listener, as an unwrapped listener would', async () => {
    const lifespan = lifespanFor()
    const listener = wrapHandler(lifespan, (req: IncomingMessage) => {
      if (req.url === '/sync') throw new Error('sync boom')
      return Promise.reject(new Error('async boom'))
    })
    const fakeRes = (): ServerResponse => {
      const res = { headersSent: false, closed: false, once: (_e: string, cb: () => void) => setTimeout(cb, 10), setHeader: () => {} }
      return res as unknown as ServerResponse
    }
    await expect(listener({ url: '/sync' } as IncomingMessage, fakeRes())).rejects.toThrow('sync boom')
    await expect(listener({ url: '/async' } as IncomingMessage, fakeRes())).rejects.toThrow('async boom')
  })

  it('with captureRejections, a failing handler gets Node\'s own 500 and the connection is released', async () => {
    const lifespan = lifespanFor()
    // Node reads the flag when the emitter is built; restore it at once for the other tests.
    EventEmitter.captureRejections = true
    const server = createServer(
      wrapHandler(lifespan, async () => {
        await lifespan.db().query('SELECT 1')
        throw new Error('boom')
      }),
    )
    EventEmitter.captureRejections = false
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
      expect(res.status).toBe(500)
      await res.text()
      await eventually(() => lifespan.stats().aliases.default?.inUse === 0 && lifespan.stats().activeScopes === 0, 1_000, 'released')
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('closeGracefully past its deadline interrupts the stuck request (its scope and statement) and reports unclean', async () => {
    const lifespan = lifespanFor()
    const app = await listen(lifespan, async (_req, res) => {
      try {
        await lifespan.db().query('SELECT SLEEP(5)')
        res.end('slept')
      } catch (err) {
        res.writeHead(500).end((err as { code?: string }).code)
      }
    })
    const stuck = fetch(app.url).then(async (r) => `${r.status} ${await r.text()}`, (err: Error) => err.message)
    await eventually(() => lifespan.stats().aliases.default?.inUse === 1, 2_000, 'the stuck request holds a connection')
    const started = Date.now()
    const report = await app.closeGracefully({ timeoutMs: 300 })
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(report.clean).toBe(false)
    expect(report.interrupted).toBe(1)
    expect(lifespan.state).toBe('stopped')
    expect(await stuck).not.toBe('200 slept')
  })

  it('shutdownOnSignals: first signal closes gracefully, a second one destroys and leaves exit code 1', async () => {
    const lifespan = lifespanFor()
    const server = createServer(wrapHandler(lifespan, async (_req, res) => {
      await lifespan.db().query('SELECT SLEEP(2)').catch(() => {})
      res.end()
    }))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const before = process.exitCode
    const uninstall = shutdownOnSignals(server, lifespan, { signals: ['SIGUSR2'], timeoutMs: 5_000 })
    try {
      const slow = fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`).catch(() => undefined)
      await eventually(() => lifespan.stats().aliases.default?.inUse === 1, 2_000, 'request in flight')
      process.emit('SIGUSR2', 'SIGUSR2')
      expect(lifespan.state).toBe('running') // still draining the server
      process.emit('SIGUSR2', 'SIGUSR2')
      await eventually(() => lifespan.state === 'stopped', 1_000, 'destroyed')
      expect(process.exitCode).toBe(1)
      await slow
      await eventually(() => process.listenerCount('SIGUSR2') === 0, 1_000, 'handlers removed')
    } finally {
      uninstall()
      process.exitCode = before
      server.closeAllConnections()
      server.close()
    }
  })
})
