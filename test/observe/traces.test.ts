/**
 * Every driver call in its caller's async context: with @opentelemetry/instrumentation-mysql2 and
 * @fastify/otel, each query span belongs to the trace of the request that issued it, also when
 * the request waited for a connection (pool of 1) or got one the pool had just opened (pool of 2),
 * and the library's own statements never land in a request's trace. The same app on a plain
 * mysql2 pool shows the fault the binding fixes.
 */
// First: the instrumentation must be in place before mysql2 loads.
import { exporter, fastifyOtel, mysqlInstrumentation, provider } from './support/tracing.js'
import { AsyncLocalStorage } from 'node:async_hooks'
import diagnostics_channel from 'node:diagnostics_channel'
import type { AddressInfo } from 'node:net'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import Fastify, { type FastifyInstance } from 'fastify'
import mysql from 'mysql2'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fastifyLifespan } from '../../src/adapters/fastify.js'
import { instrumentLifespan } from '../../src/observe/otel.js'
import { lifespanFor, mysqlUrl } from '../support/env.js'

afterAll(async () => {
  mysqlInstrumentation.disable()
  await provider.shutdown()
})
beforeEach(() => exporter.reset())

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

/** The work of one request: two statements with a pause between them, holding the connection. */
const statements = (id: string): string[] => [`SELECT '${id}' AS marker, SLEEP(0.05) AS s`, `SELECT '${id}' AS marker, 2 AS step`]

async function start(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

async function libraryApp(connectionLimit: number): Promise<string> {
  const lifespan = lifespanFor({ databases: { default: { uri: mysqlUrl(), connectionLimit } } })
  const app = Fastify()
  apps.push(app)
  await app.register(fastifyOtel.plugin())
  await app.register(fastifyLifespan, { lifespan })
  app.get<{ Params: { id: string } }>('/r/:id', async (request) => {
    for (const sql of statements(request.params.id)) await request.db().query(sql)
    return { ok: true }
  })
  return start(app)
}

async function plainApp(connectionLimit: number): Promise<string> {
  const pool = mysql.createPool({ uri: mysqlUrl(), connectionLimit })
  const app = Fastify()
  apps.push(app)
  app.addHook('onClose', () => new Promise<void>((resolve) => pool.end(() => resolve())))
  await app.register(fastifyOtel.plugin())
  // pool.query checks out a connection and sends the statement from mysql2's callback.
  app.get<{ Params: { id: string } }>('/r/:id', async (request) => {
    for (const sql of statements(request.params.id)) await pool.promise().query(sql)
    return { ok: true }
  })
  // Warm one connection, as the adapter's startup does.
  await pool.promise().query('SELECT 1')
  return start(app)
}

interface Tally {
  /** Query spans in the trace of the request that issued them. */
  right: number
  /** Query spans in another request's trace. */
  misattributed: number
  /** Query spans of a request that are roots or in a trace of no request. */
  orphans: number
  /** Spans of statements the library sends itself, found in any request's trace. */
  internalInRequests: number
}

/** Runs `n` concurrent requests and sorts the query spans by the trace they ended up in. */
async function tally(url: string, n: number): Promise<{ tally: Tally; tree: string }> {
  exporter.reset()
  const ids = Array.from({ length: n }, (_, i) => `req${i}x${Math.random().toString(36).slice(2, 6)}`)
  await Promise.all(ids.map((id) => fetch(`${url}/r/${id}`).then((res) => expect(res.status).toBe(200))))
  await new Promise((resolve) => setTimeout(resolve, 50))
  const spans = exporter.getFinishedSpans()
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]))
  const requestTrace = new Map<string, string>() // request id -> trace id
  for (const s of spans) {
    const path = String(s.attributes['url.path'] ?? s.attributes['http.route'] ?? '')
    const match = /\/r\/(\w+)/.exec(path)
    if (match && !s.parentSpanContext) requestTrace.set(match[1]!, s.spanContext().traceId)
  }
  expect(requestTrace.size).toBe(n)
  const queries = spans.filter((s) => s.attributes['db.statement'] !== undefined || s.attributes['db.query.text'] !== undefined)
  const text = (s: ReadableSpan): string => String(s.attributes['db.statement'] ?? s.attributes['db.query.text'])
  const result: Tally = { right: 0, misattributed: 0, orphans: 0, internalInRequests: 0 }
  const requestTraces = new Set(requestTrace.values())
  for (const q of queries) {
    const id = ids.find((i) => text(q).includes(i))
    const trace = q.spanContext().traceId
    if (!id) {
      if (requestTraces.has(trace)) result.internalInRequests++
      continue
    }
    if (!q.parentSpanContext || !requestTraces.has(trace)) result.orphans++
    else if (trace === requestTrace.get(id)) result.right++
    else result.misattributed++
  }
  // The span tree of each request, for the eye (name <- parent chain).
  const lines: string[] = []
  const children = (parent: string | undefined): ReadableSpan[] => spans.filter((s) => s.parentSpanContext?.spanId === parent && (parent !== undefined || !s.parentSpanContext))
  const walk = (s: ReadableSpan, depth: number): void => {
    const label = s.attributes['db.statement'] ?? s.attributes['db.query.text'] ?? s.attributes['url.path'] ?? ''
    lines.push(`${'  '.repeat(depth)}${s.name} ${String(label)}`)
    for (const c of children(s.spanContext().spanId)) walk(c, depth + 1)
  }
  for (const root of spans.filter((s) => !s.parentSpanContext || !byId.has(s.parentSpanContext.spanId))) walk(root, 0)
  return { tally: result, tree: lines.join('\n') }
}

const show = (label: string, tree: string): void => {
  if (process.env.SHOW_SPANS) console.log(`--- ${label}\n${tree}`)
}

describe('query spans through the Fastify adapter', () => {
  for (const connectionLimit of [1, 2]) {
    it(`each query span is in its own request's trace, no orphan, pool of ${connectionLimit}`, async () => {
      const url = await libraryApp(connectionLimit)
      for (let round = 0; round < 3; round++) {
        const { tally: t, tree } = await tally(url, 2)
        show(`library, pool of ${connectionLimit}, round ${round}`, tree)
        expect(t).toEqual({ right: 4, misattributed: 0, orphans: 0, internalInRequests: 0 })
      }
    })
  }

  it('a plain mysql2 pool that fills puts a waiting request\'s queries in the releasing request\'s trace', async () => {
    const url = await plainApp(1)
    const { tally: t, tree } = await tally(url, 2)
    show('plain mysql2, pool of 1', tree)
    expect(t.misattributed + t.orphans).toBeGreaterThan(0)
  })

  it('with the OpenTelemetry entry, the library\'s own statements are not traced at all', async () => {
    const lifespan = lifespanFor({ databases: { default: { uri: mysqlUrl(), connectionLimit: 2 } } })
    const stop = instrumentLifespan(lifespan, { meterProvider: undefined })
    try {
      await lifespan.scope(() => lifespan.db().query('SELECT 1 AS one'))
      const texts = exporter.getFinishedSpans().map((s) => String(s.attributes['db.statement'] ?? s.attributes['db.query.text'] ?? ''))
      expect(texts).toContain('SELECT 1 AS one')
      expect(texts.filter((t) => t.includes('wait_timeout'))).toEqual([])
    } finally {
      stop()
    }
  })
})

describe("mysql2's own mysql2:query TracingChannel", () => {
  it('sees the scope of the request that issued each query, pool of 1 and 2', async () => {
    for (const connectionLimit of [1, 2]) {
      const lifespan = lifespanFor({ databases: { default: { uri: mysqlUrl(), connectionLimit } } })
      const seen: Array<{ sql: string; scope: number | undefined }> = []
      const onStart = (ctx: unknown): void => {
        seen.push({ sql: String((ctx as { query?: unknown }).query), scope: lifespan.currentScope()?.id })
      }
      diagnostics_channel.subscribe('tracing:mysql2:query:start', onStart)
      try {
        await lifespan.startup()
        const issued: Array<{ sql: string; scope: number }> = []
        await Promise.all(
          ['a', 'b', 'c'].map((id) =>
            lifespan.scope(async () => {
              for (const sql of statements(`${id}${connectionLimit}`)) {
                issued.push({ sql, scope: lifespan.currentScope()!.id })
                await lifespan.db().query(sql)
              }
            }),
          ),
        )
        const mine = seen.filter((s) => issued.some((i) => i.sql === s.sql))
        expect(mine).toHaveLength(issued.length)
        for (const s of mine) expect(s.scope).toBe(issued.find((i) => i.sql === s.sql)!.scope)
        // The connect-time read runs outside every scope.
        for (const s of seen.filter((x) => x.sql.includes('wait_timeout'))) expect(s.scope).toBeUndefined()
      } finally {
        diagnostics_channel.unsubscribe('tracing:mysql2:query:start', onStart)
      }
    }
  })

  it('on a plain mysql2 pool of 1, a waiting query runs in the context of the request that released', async () => {
    const als = new AsyncLocalStorage<string>()
    const pool = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 1 })
    const seen: Array<{ sql: string; store: string | undefined }> = []
    const onStart = (ctx: unknown): void => {
      seen.push({ sql: String((ctx as { query?: unknown }).query), store: als.getStore() })
    }
    diagnostics_channel.subscribe('tracing:mysql2:query:start', onStart)
    try {
      await Promise.all(
        ['p', 'q'].map((id) =>
          als.run(id, async () => {
            // The statement goes out from the checkout's callback, as pool.query() and callback-style callers do.
            await new Promise<void>((resolve, reject) =>
              pool.getConnection((err, conn) => {
                if (err) return reject(err)
                conn.query(`SELECT '${id}' AS marker, SLEEP(0.05) AS s`, () => {
                  conn.release()
                  resolve()
                })
              }),
            )
          }),
        ),
      )
    } finally {
      diagnostics_channel.unsubscribe('tracing:mysql2:query:start', onStart)
      await new Promise<void>((resolve) => pool.end(() => resolve()))
    }
    const wrong = seen.filter((s) => /'(\w)' AS marker/.exec(s.sql)?.[1] !== s.store)
    expect(wrong.length).toBeGreaterThan(0)
  })
})
