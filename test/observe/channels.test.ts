import diagnostics_channel from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import { ChannelNames } from '../../src/index.js'
import { admin, lifespanFor, sleep } from '../support/env.js'

type Event = { name: string; msg: Record<string, unknown> }

const plain = Object.entries(ChannelNames).filter(([key]) => key !== 'acquire').map(([, name]) => name)
const tracing = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const

/** Subscribes to every channel of the library; returns the events seen and an unsubscribe function. */
function record(): { events: Event[]; stop: () => void } {
  const events: Event[] = []
  const stops: Array<() => void> = []
  for (const name of plain) {
    const fn = (msg: unknown): void => void events.push({ name, msg: { ...(msg as object) } })
    diagnostics_channel.subscribe(name, fn)
    stops.push(() => diagnostics_channel.unsubscribe(name, fn))
  }
  const handlers = Object.fromEntries(
    tracing.map((phase) => [phase, (msg: unknown) => void events.push({ name: `${ChannelNames.acquire}:${phase}`, msg: { ...(msg as object) } })]),
  )
  const channel = diagnostics_channel.tracingChannel(ChannelNames.acquire)
  channel.subscribe(handlers as never)
  stops.push(() => channel.unsubscribe(handlers as never))
  return { events, stop: () => stops.forEach((s) => s()) }
}

let stop: (() => void) | undefined
afterEach(() => {
  stop?.()
  stop = undefined
})

describe('diagnostics channels', () => {
  it('tell the story of one scope: start, acquisition, new connection, end, in order', async () => {
    const lifespan = lifespanFor()
    const rec = record()
    stop = rec.stop
    await lifespan.scope(async () => {
      await lifespan.db().query('SELECT 1')
    })
    if (process.env.SHOW_CHANNELS) console.log(JSON.stringify(rec.events, (_k, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v), 1))
    const names = rec.events.map((e) => e.name)
    // Startup (lazy) acquires outside any scope first, then the scope runs.
    const scopeStart = names.indexOf(ChannelNames.scopeStart)
    expect(names.slice(0, scopeStart)).toEqual([
      'mysql-lifespan:acquire:start',
      'mysql-lifespan:acquire:end',
      ChannelNames.connectionCreate,
      ChannelNames.validation,
      'mysql-lifespan:acquire:asyncStart',
      'mysql-lifespan:acquire:asyncEnd',
      ChannelNames.connectionRelease,
    ])
    expect(names.slice(scopeStart)).toEqual([
      ChannelNames.scopeStart,
      'mysql-lifespan:acquire:start',
      'mysql-lifespan:acquire:end',
      'mysql-lifespan:acquire:asyncStart',
      'mysql-lifespan:acquire:asyncEnd',
      ChannelNames.connectionRelease,
      ChannelNames.scopeEnd,
    ])
    const start = rec.events[scopeStart]!.msg
    expect(start).toEqual({ scopeId: expect.any(Number), kind: 'task' })
    const acquired = rec.events.filter((e) => e.name === 'mysql-lifespan:acquire:asyncEnd').map((e) => e.msg)
    expect(acquired[1]).toMatchObject({ alias: 'default', host: '127.0.0.1', port: expect.any(Number), scopeId: start.scopeId, waitMs: expect.any(Number), threadId: expect.any(Number) })
    expect(acquired[0]!.scopeId).toBeUndefined()
    const created = rec.events.find((e) => e.name === ChannelNames.connectionCreate)!.msg
    expect(created).toMatchObject({ alias: 'default', threadId: acquired[1]!.threadId, createMs: expect.any(Number) })
    expect(rec.events.find((e) => e.name === ChannelNames.validation)!.msg).toMatchObject({ alias: 'default', check: 'connect', ok: true, threadId: created.threadId })
    expect(rec.events.at(-2)!.msg).toMatchObject({ alias: 'default', threadId: created.threadId, heldMs: expect.any(Number) })
    expect(rec.events.at(-1)!.msg).toMatchObject({ scopeId: start.scopeId, kind: 'task', ok: true, interrupted: false })
  })

  it('publish pings, destroys with their reason, statement retries and shutdown', async () => {
    const pinged = lifespanFor({ aliveBypassMs: 0 })
    const trusted = lifespanFor({ aliveBypassMs: 60_000 })
    await Promise.all([pinged.startup(), trusted.startup()])
    const rec = record()
    stop = rec.stop
    // aliveBypassMs 0: the idle connection is pinged on its way into the scope.
    await pinged.scope(() => pinged.db().query('SELECT 1'))
    // Killed while a read runs: the read fails with a disconnect and is re-run on a fresh connection.
    const threadId = await trusted.scope(async () => {
      const [rows] = await trusted.db().query<Array<{ id: number }>>('SELECT CONNECTION_ID() AS id')
      const id = Number(rows[0]!.id)
      const slow = trusted.db().query('SELECT SLEEP(0.3) AS s', undefined, { idempotent: true })
      await sleep(50)
      await admin(`KILL CONNECTION ${id}`)
      await slow
      return id
    })
    const report = await trusted.shutdown()
    expect(rec.events.find((e) => e.name === ChannelNames.validation && e.msg.check === 'ping')?.msg).toMatchObject({ alias: 'default', ok: true, durationMs: expect.any(Number) })
    const destroyed = rec.events.filter((e) => e.name === ChannelNames.connectionDestroy).map((e) => e.msg)
    expect(destroyed.find((d) => d.threadId === threadId)).toMatchObject({ alias: 'default', reason: 'broken', ageMs: expect.any(Number) })
    expect(rec.events.find((e) => e.name === ChannelNames.statementRetry)?.msg).toMatchObject({ alias: 'default', error: expect.objectContaining({ fatal: true }) })
    expect(trusted.stats().aliases.default!.retries).toBe(1)
    expect(rec.events.find((e) => e.name === ChannelNames.shutdownStart)!.msg).toEqual({ timeoutMs: expect.any(Number), activeScopes: 0 })
    expect(rec.events.find((e) => e.name === ChannelNames.shutdownEnd)!.msg).toEqual({ report })
  })

  it('publish each failed connect attempt and the acquisition error', async () => {
    // A port where nothing listens: refused at once, retried with backoff until the deadline.
    const lifespan = lifespanFor({ url: 'mysql://root@127.0.0.1:9/test', acquireTimeoutMs: 600 })
    const rec = record()
    stop = rec.stop
    await expect(lifespan.startup()).rejects.toMatchObject({ code: 'ERR_LIFESPAN_ACQUIRE_TIMEOUT' })
    const failed = rec.events.filter((e) => e.name === ChannelNames.acquireAttemptFailed)
    expect(failed.length).toBeGreaterThan(1)
    expect(failed[0]!.msg).toMatchObject({ alias: 'default', host: '127.0.0.1', port: 9, error: expect.objectContaining({ code: 'ECONNREFUSED' }) })
    const error = rec.events.find((e) => e.name === 'mysql-lifespan:acquire:error')!.msg
    expect(error).toMatchObject({ alias: 'default', error: expect.objectContaining({ code: 'ERR_LIFESPAN_ACQUIRE_TIMEOUT' }), waitMs: expect.any(Number) })
  })

  it('cost nothing while nobody listens: no subscriber, no channel reports one', () => {
    for (const name of plain) expect(diagnostics_channel.hasSubscribers(name)).toBe(false)
    expect(diagnostics_channel.tracingChannel(ChannelNames.acquire).hasSubscribers).toBe(false)
  })
})
