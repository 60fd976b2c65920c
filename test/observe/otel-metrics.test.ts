/**
 * mysql-lifespan/otel against the real server: the semantic-convention pool metrics read back
 * through the OpenTelemetry SDK's own reader match what the pool did.
 */
import { type DataPoint, type Histogram, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it } from 'vitest'
import { instrumentLifespan } from '../../src/observe/otel.js'
import { lifespanFor, mysqlUrl, sleep } from '../support/env.js'

/** A reader that only collects when asked (the SDK's pull model, as a Prometheus scrape). */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type Point = { attributes: Record<string, unknown>; value: unknown }

async function read(reader: TestReader): Promise<Map<string, { unit: string; points: Point[] }>> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics }
  const out = new Map<string, { unit: string; points: Point[] }>()
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      out.set(metric.descriptor.name, {
        unit: metric.descriptor.unit,
        points: (metric.dataPoints as Array<DataPoint<unknown>>).map((p) => ({ attributes: { ...p.attributes }, value: p.value })),
      })
    }
  }
  return out
}

const value = (m: Map<string, { points: Point[] }>, name: string, attrs: Record<string, unknown> = {}): unknown =>
  m.get(name)?.points.find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))?.value

const stops: Array<() => void> = []
afterEach(() => stops.splice(0).forEach((s) => s()))

describe('mysql-lifespan/otel', () => {
  it('records the pool metrics of the semantic conventions, read back as they happened', async () => {
    const lifespan = lifespanFor({ databases: { orders: { uri: mysqlUrl(), connectionLimit: 2, acquireTimeoutMs: 300 } } })
    const reader = new TestReader()
    const meterProvider = new MeterProvider({ readers: [reader] })
    stops.push(instrumentLifespan(lifespan, { meterProvider, poolName: (alias) => `app.${alias}` }))
    const pool = { 'db.client.connection.pool.name': 'app.orders' }

    await lifespan.startup() // one connection: created, leased and given back
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const holders = [0, 1].map(() =>
      lifespan.scope(async () => {
        await lifespan.db('orders').query('SELECT 1')
        await held
      }),
    )
    while (lifespan.stats().aliases.orders!.inUse < 2) await sleep(5)
    const waiter = lifespan.scope(() => lifespan.db('orders').query('SELECT 1')).catch((e: unknown) => e)
    while (lifespan.stats().aliases.orders!.waiting < 1) await sleep(5)

    const busy = await read(reader)
    expect(value(busy, 'db.client.connection.count', { ...pool, 'db.client.connection.state': 'used' })).toBe(2)
    expect(value(busy, 'db.client.connection.count', { ...pool, 'db.client.connection.state': 'idle' })).toBe(0)
    expect(value(busy, 'db.client.connection.max', pool)).toBe(2)
    expect(value(busy, 'db.client.connection.pending_requests', pool)).toBe(1)

    expect(await waiter).toMatchObject({ code: 'ERR_LIFESPAN_ACQUIRE_TIMEOUT' })
    await sleep(100)
    release()
    await Promise.all(holders)

    const after = await read(reader)
    if (process.env.SHOW_METRICS) console.log(JSON.stringify([...after].map(([name, m]) => ({ name, unit: m.unit, points: m.points })), null, 1))
    expect(value(after, 'db.client.connection.count', { ...pool, 'db.client.connection.state': 'idle' })).toBe(2)
    expect(value(after, 'db.client.connection.count', { ...pool, 'db.client.connection.state': 'used' })).toBe(0)
    expect(value(after, 'db.client.connection.pending_requests', pool)).toBe(0)
    expect(value(after, 'db.client.connection.timeouts', pool)).toBe(1)
    const histogram = (name: string): Histogram => value(after, name, pool) as Histogram
    // Two connections opened (startup's and the second holder's).
    expect(after.get('db.client.connection.create_time')!.unit).toBe('s')
    expect(histogram('db.client.connection.create_time').count).toBe(lifespan.stats().aliases.orders!.created)
    expect(histogram('db.client.connection.create_time').count).toBe(2)
    // Three connections handed out (startup's check and the two holders); the waiter's timeout is not a wait time.
    expect(histogram('db.client.connection.wait_time').count).toBe(3)
    // Three leases given back; the two holders held theirs past the waiter's 300 ms timeout.
    const use = histogram('db.client.connection.use_time')
    expect(use.count).toBe(3)
    expect(use.max).toBeGreaterThanOrEqual(0.3)
    expect(use.sum).toBeGreaterThanOrEqual(0.6)
  })

  it('stops recording when told to', async () => {
    const lifespan = lifespanFor()
    const reader = new TestReader()
    const stop = instrumentLifespan(lifespan, { meterProvider: new MeterProvider({ readers: [reader] }) })
    await lifespan.scope(() => lifespan.db().query('SELECT 1'))
    stop()
    await lifespan.scope(() => lifespan.db().query('SELECT 1'))
    const m = await read(reader)
    expect((value(m, 'db.client.connection.wait_time', { 'db.client.connection.pool.name': 'default' }) as Histogram).count).toBe(2)
    expect(m.get('db.client.connection.count')?.points ?? []).toEqual([])
  })
})
