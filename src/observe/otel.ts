/**
 * @module
 * `mysql-lifespan/otel`: OpenTelemetry pool metrics (the database client semantic conventions,
 * `db.client.connection.*`) recorded from the library's diagnostics channels and `stats()`, through
 * `@opentelemetry/api` (an optional peer dependency: install it to use this entry). While
 * installed it also marks the library's own statements (connect-time reads, validation pings,
 * KILL at a shutdown deadline) as not to be traced.
 *
 * @example
 * ```ts
 * import { instrumentLifespan } from 'mysql-lifespan/otel'
 * const stop = instrumentLifespan(lifespan)          // the global MeterProvider
 * ```
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { type Attributes, context, createContextKey, type MeterProvider, metrics, type ObservableResult } from '@opentelemetry/api'
import { ErrorCodes, type Lifespan } from '../index.js'
import { type AcquireContext, ChannelNames, type ConnectionCreateMessage, type ConnectionReleaseMessage } from './channels.js'
import { setInternalWrapper } from './internal.js'

/** Options of {@link instrumentLifespan}. */
export interface OtelOptions {
  /**
   * Where the instruments come from.
   *
   * @default the global MeterProvider (`metrics.getMeterProvider()`)
   */
  meterProvider?: MeterProvider | undefined
  /**
   * The `db.client.connection.pool.name` of an alias.
   *
   * @default the alias itself
   */
  poolName?: (alias: string) => string
  /**
   * Keep the library's own statements out of traces (OpenTelemetry's suppress-tracing context flag).
   *
   * @default true
   */
  suppressInternalTracing?: boolean
}

// @opentelemetry/core's key (createContextKey is Symbol.for(description)): the SDK's tracers skip
// spans in a context carrying it, and so does every instrumentation built on them.
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING')
let suppressing = 0

const POOL = 'db.client.connection.pool.name'
const STATE = 'db.client.connection.state'
/** Bucket bounds in seconds for connection times, from 1 ms to 10 s. */
const TIME_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * Records the semantic-convention pool metrics of `lifespan`'s aliases:
 * `db.client.connection.count` (by `db.client.connection.state` `idle` | `used`),
 * `db.client.connection.max`, `db.client.connection.pending_requests` (read from `stats()` at each
 * collection), `db.client.connection.timeouts`, and the histograms `db.client.connection.create_time`,
 * `.wait_time` and `.use_time` in seconds, each with `db.client.connection.pool.name`.
 * Events are matched to this lifespan by alias name: two lifespans with the same alias in one
 * process share those counters (the gauges stay separate).
 *
 * @returns a function that stops recording (and the tracing suppression, once no lifespan needs it).
 */
export function instrumentLifespan(lifespan: Lifespan, options: OtelOptions = {}): () => void {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('mysql-lifespan')
  const name = options.poolName ?? ((alias: string) => alias)
  const mine = new Set(lifespan.aliases)
  const attrs = (alias: string): Attributes => ({ [POOL]: name(alias) })

  const count = meter.createObservableUpDownCounter('db.client.connection.count', {
    unit: '{connection}',
    description: 'The number of connections that are currently in state described by the state attribute.',
  })
  const max = meter.createObservableUpDownCounter('db.client.connection.max', { unit: '{connection}', description: 'The maximum number of open connections allowed.' })
  const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
    unit: '{request}',
    description: 'The number of current pending requests for an open connection.',
  })
  const observe = (result: ObservableResult, pick: (s: ReturnType<Lifespan['stats']>['aliases'][string]) => number, extra?: Attributes): void => {
    for (const [alias, s] of Object.entries(lifespan.stats().aliases)) result.observe(pick(s), { ...attrs(alias), ...extra })
  }
  const onCount = (r: ObservableResult): void => {
    observe(r, (s) => s.idle, { [STATE]: 'idle' })
    observe(r, (s) => s.inUse, { [STATE]: 'used' })
  }
  const onMax = (r: ObservableResult): void => observe(r, (s) => s.max)
  const onPending = (r: ObservableResult): void => observe(r, (s) => s.waiting)
  count.addCallback(onCount)
  max.addCallback(onMax)
  pending.addCallback(onPending)

  const timeouts = meter.createCounter('db.client.connection.timeouts', {
    unit: '{timeout}',
    description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
  })
  const histogram = (metric: string, description: string) =>
    meter.createHistogram(metric, { unit: 's', description, advice: { explicitBucketBoundaries: TIME_BUCKETS } })
  const createTime = histogram('db.client.connection.create_time', 'The time it took to create a new connection.')
  const waitTime = histogram('db.client.connection.wait_time', 'The time it took to obtain an open connection from the pool.')
  const useTime = histogram('db.client.connection.use_time', 'The time between borrowing a connection and returning it to the pool.')

  const onCreate = (msg: unknown): void => {
    const m = msg as ConnectionCreateMessage
    if (mine.has(m.alias) && m.createMs !== undefined) createTime.record(m.createMs / 1000, attrs(m.alias))
  }
  const onRelease = (msg: unknown): void => {
    const m = msg as ConnectionReleaseMessage
    if (mine.has(m.alias)) useTime.record(m.heldMs / 1000, attrs(m.alias))
  }
  // The acquisition's callback phase: waitMs and the outcome are known.
  const acquired = `tracing:${ChannelNames.acquire}:asyncStart`
  const onAcquired = (msg: unknown): void => {
    const m = msg as AcquireContext
    if (!mine.has(m.alias)) return
    if (m.error === undefined && m.waitMs !== undefined) waitTime.record(m.waitMs / 1000, attrs(m.alias))
    if ((m.error as { code?: unknown } | undefined)?.code === ErrorCodes.ACQUIRE_TIMEOUT) timeouts.add(1, attrs(m.alias))
  }
  diagnostics_channel.subscribe(ChannelNames.connectionCreate, onCreate)
  diagnostics_channel.subscribe(ChannelNames.connectionRelease, onRelease)
  diagnostics_channel.subscribe(acquired, onAcquired)

  const suppress = options.suppressInternalTracing !== false
  if (suppress && suppressing++ === 0) setInternalWrapper((fn) => context.with(context.active().setValue(SUPPRESS_TRACING, true), fn))

  let stopped = false
  return () => {
    if (stopped) return
    stopped = true
    count.removeCallback(onCount)
    max.removeCallback(onMax)
    pending.removeCallback(onPending)
    diagnostics_channel.unsubscribe(ChannelNames.connectionCreate, onCreate)
    diagnostics_channel.unsubscribe(ChannelNames.connectionRelease, onRelease)
    diagnostics_channel.unsubscribe(acquired, onAcquired)
    if (suppress && --suppressing === 0) setInternalWrapper(undefined)
  }
}
