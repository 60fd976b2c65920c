/**
 * The Fastify adapter's close and logs: `shutdownTimeoutMs` bounds `app.close()` (a request past
 * the deadline is interrupted, its statement killed server-side, and the report says so), and the
 * library logs through Fastify's logger, inside a request through `request.log`.
 */
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { fastifyLifespan } from '../../src/adapters/fastify.js'
import type { ShutdownReport } from '../../src/index.js'
import { lifespanFor, runningAfter, sleep } from '../support/env.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => {})))
})

/** A pino destination that keeps every line, parsed. */
function capture(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    },
  })
  return { stream, lines }
}

const marker = (): string => `fastify_close_${process.pid}_${Math.random().toString(36).slice(2, 8)}`


describe('fastify adapter: app.close()', () => {
  it('is bounded by shutdownTimeoutMs: an 8 s request is interrupted, its statement killed, the report says so', async () => {
    const lifespan = lifespanFor({ shutdownTimeoutMs: 1_000 })
    const app = Fastify()
    apps.push(app)
    await app.register(fastifyLifespan, { lifespan })
    const tag = marker()
    app.get('/slow', async (request) => {
      await request.db().query(`SELECT SLEEP(8) AS ${tag}`)
      return { done: true }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const response = fetch(`${url}/slow`).then((r) => r.status, () => 'cut')
    while ((await runningAfter(tag, 0)) < 1) await sleep(20)

    let requestWouldEnd = false
    const eightSeconds = setTimeout(() => (requestWouldEnd = true), 8_000)
    let report: ShutdownReport | undefined
    try {
      await app.close()
      report = await lifespan.shutdown() // joins the shutdown the plugin ran
    } finally {
      clearTimeout(eightSeconds)
    }
    expect(requestWouldEnd).toBe(false)
    expect(report).toMatchObject({ clean: false, interrupted: 1 })
    expect(await runningAfter(tag, 2_000)).toBe(0) // killed server-side, not left running (SLEEP(8))
    expect(await response).not.toBe(200)
  })

  it('a request that finishes before the deadline is served, and the close is clean', async () => {
    const lifespan = lifespanFor({ shutdownTimeoutMs: 5_000 })
    const app = Fastify()
    apps.push(app)
    await app.register(fastifyLifespan, { lifespan })
    app.get('/short', async (request) => {
      await request.db().query('SELECT SLEEP(0.3) AS s')
      return { done: true }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const response = fetch(`${url}/short`).then((r) => r.status)
    while (lifespan.stats().aliases.default!.inUse < 1) await sleep(10)
    await app.close()
    expect(await response).toBe(200)
    expect(await lifespan.shutdown()).toMatchObject({ clean: true, interrupted: 0 })
  })
})

describe("fastify adapter: logs", () => {
  it("go to Fastify's logger, with the request's bindings inside a request", async () => {
    const { stream, lines } = capture()
    // A leak warning fires inside the request's scope; 'connected' and the shutdown report outside.
    const lifespan = lifespanFor({ leakWarningMs: 50 })
    const app = Fastify({ logger: { level: 'debug', stream } })
    apps.push(app)
    await app.register(fastifyLifespan, { lifespan })
    app.get('/hold', async (request) => {
      await request.db().query('SELECT 1')
      await sleep(150)
      return { ok: true }
    })
    await app.ready()
    const res = await app.inject('/hold')
    expect(res.statusCode).toBe(200)
    await app.close()
    const requestLine = lines.find((l) => l.msg === 'incoming request')!
    const leak = lines.find((l) => String(l.msg).includes('possible leak'))
    expect(leak).toMatchObject({ level: 40, reqId: requestLine.reqId, alias: 'default' })
    expect(lines.find((l) => l.msg === 'connected')).toMatchObject({ level: 30, alias: 'default' })
    expect(lines.find((l) => l.msg === 'connected')!.reqId).toBeUndefined()
    expect(lines.find((l) => l.msg === 'shutdown complete')).toMatchObject({ level: 30, clean: true })
  })

  it('go to the lifespan\'s own logger when it has one, and to the plugin\'s `logger` option otherwise', async () => {
    const own: unknown[] = []
    const given: unknown[] = []
    const collect = (into: unknown[]) => ({ info: (o: unknown, m?: string) => into.push(m ?? o), warn: (o: unknown, m?: string) => into.push(m ?? o) })
    const { stream, lines } = capture()
    const withOwn = lifespanFor({ logger: collect(own) })
    const app1 = Fastify({ logger: { stream } })
    apps.push(app1)
    await app1.register(fastifyLifespan, { lifespan: withOwn })
    await app1.ready()
    const withOption = lifespanFor()
    const app2 = Fastify({ logger: { stream } })
    apps.push(app2)
    await app2.register(fastifyLifespan, { lifespan: withOption, logger: collect(given) })
    await app2.ready()
    expect(own).toContain('connected')
    expect(given).toContain('connected')
    expect(lines.filter((l) => l.msg === 'connected')).toEqual([])
  })
})
