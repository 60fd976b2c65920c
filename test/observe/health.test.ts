/**
 * lifespan.health(): readiness against the real server, a stopped server, a blackholed path, a
 * saturated pool and a shutdown; liveness without a round trip.
 */
import { describe, expect, it } from 'vitest'
import type { HealthReport } from '../../src/index.js'
import { startDisposableServer } from '../support/disposable-server.js'
import { serverBehindProxy } from '../support/server-behind-proxy.js'
import { lifespanFor, mysqlUrl, sleep } from '../support/env.js'

/** Resolves to 'hung' if `health` has not settled after `ms` (far past the check's own bound). */
const settles = (health: Promise<HealthReport>, ms = 5_000): Promise<HealthReport | 'hung'> =>
  Promise.race([health, sleep(ms).then(() => 'hung' as const)])

const env = serverBehindProxy()

describe('lifespan.health()', () => {
  it('is ready against a healthy server, per alias, and takes no scope', async () => {
    const lifespan = lifespanFor({ databases: { default: mysqlUrl(), other: mysqlUrl() } })
    await lifespan.startup()
    const health = await lifespan.health()
    expect(health).toMatchObject({ ok: true, state: 'running', aliases: { default: { ok: true, status: 'ready' }, other: { ok: true, status: 'ready' } } })
    const stats = lifespan.stats()
    expect(stats.activeScopes).toBe(0)
    expect(stats.aliases.default!.inUse).toBe(0)
  })

  it('is not ready, without hanging, once the server is gone; liveness stays ok', async () => {
    const own = await startDisposableServer()
    const lifespan = lifespanFor({ url: own.url, acquireTimeoutMs: 10_000 })
    await lifespan.startup()
    await own.kill()
    const health = await settles(lifespan.health())
    expect(health).toMatchObject({ ok: false, aliases: { default: { ok: false, status: 'unreachable', reason: expect.any(String) } } })
    expect(await lifespan.health({ database: false })).toMatchObject({ ok: true, state: 'running', aliases: { default: { status: 'skipped' } } })
  })

  it('is not ready, without hanging, when the path to the server swallows every byte', async () => {
    const lifespan = lifespanFor({ url: env.proxy.url(), acquireTimeoutMs: 10_000, pingTimeoutMs: 500 })
    await lifespan.startup()
    env.proxy.stall()
    try {
      const health = await settles(lifespan.health())
      expect(health).toMatchObject({ ok: false, aliases: { default: { ok: false, status: 'unreachable' } } })
    } finally {
      env.proxy.reset()
      env.proxy.resume()
    }
  })

  it('an alias with hosts is held to the same bound: no writable host is reported within the check\'s time, not acquireTimeoutMs', async () => {
    const own = await startDisposableServer()
    const lifespan = lifespanFor({ databases: { default: { user: 'root', database: 'test', hosts: [`127.0.0.1:${own.port}`] } }, acquireTimeoutMs: 20_000 })
    await lifespan.startup()
    await own.kill()
    // Before, the writer's acquisition took its own acquireTimeoutMs (20 s here) whatever the check asked.
    const health = await settles(lifespan.health({ timeoutMs: 500 }))
    expect(health).toMatchObject({ ok: false, aliases: { default: { ok: false, status: 'unreachable', reason: expect.any(String) } } })
  })

  it('takes no slot from a saturated pool: ready while connections come back, nothing waits', async () => {
    const lifespan = lifespanFor({ databases: { default: { uri: mysqlUrl(), connectionLimit: 1 } } })
    await lifespan.scope(() => lifespan.db().query('SELECT 1'))
    let release: (() => void) | undefined
    const holder = lifespan.scope(async () => {
      await lifespan.db().query('SELECT 1')
      await new Promise<void>((resolve) => (release = resolve))
    })
    // Wait until the scope holds the one connection and is parked (its statement has answered):
    // released before it parks, it would never be let go.
    while (release === undefined) await sleep(5)
    const health = await lifespan.health()
    expect(health).toMatchObject({ ok: true, aliases: { default: { ok: true, status: 'saturated' } } })
    expect(lifespan.stats().aliases.default).toMatchObject({ inUse: 1, waiting: 0, open: 1 })
    release?.()
    await holder
  })

  it('is not ready during shutdown (liveness still ok), nor after it (liveness then fails too)', async () => {
    const lifespan = lifespanFor()
    let release: (() => void) | undefined
    const holder = lifespan.scope(async () => {
      await lifespan.db().query('SELECT 1')
      await new Promise<void>((resolve) => (release = resolve))
    })
    // Wait until the scope holds its connection and is parked (its first statement has answered).
    while (release === undefined) await sleep(5)
    const stopping = lifespan.shutdown()
    expect(await lifespan.health()).toMatchObject({ ok: false, state: 'stopping', aliases: { default: { ok: false, status: 'not-running', reason: 'the lifespan is stopping' } } })
    expect((await lifespan.health({ database: false })).ok).toBe(true)
    release?.()
    await holder
    await stopping
    expect(await lifespan.health()).toMatchObject({ ok: false, state: 'stopped' })
    expect((await lifespan.health({ database: false })).ok).toBe(false)
  })
})
