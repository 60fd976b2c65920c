/**
 * Measure 5 in its own process: what validation on entry costs when it happens.
 * - `idle`: scopes entered after `idleMs` of idleness, alternating a lifespan with the default
 *   validation (pings when idle > aliveBypassMs) and one with `healthCheck: false` (never pings);
 *   the difference is the ping a scope pays after idling.
 * - `rate`: an open-loop steady load of `rate` scopes/s for `durationMs` with the defaults;
 *   reports how many scope entries pinged.
 */
import { performance } from 'node:perf_hooks'
import { createLifespan, type Lifespan } from 'mysql-lifespan'
import { childConfig, childMain, emit } from './lib/child.js'
import { Latencies, sleep } from './lib/stats.js'

export type ValidationConfig =
  | { kind: 'idle'; url: string; idleMs: number; samples: number }
  | { kind: 'rate'; url: string; rate: number; durationMs: number }

function make(url: string, healthCheck: boolean): Lifespan {
  return createLifespan({ databases: { default: { uri: url, connectionLimit: 10 } }, healthCheck })
}

async function timedScope(lifespan: Lifespan): Promise<number> {
  const t0 = performance.now()
  await lifespan.scope(() => lifespan.db().query('SELECT 1'))
  return performance.now() - t0
}

async function idle(config: Extract<ValidationConfig, { kind: 'idle' }>): Promise<void> {
  const checked = make(config.url, true)
  const unchecked = make(config.url, false)
  await Promise.all([checked.startup(), unchecked.startup()])
  const hot = { checked: [] as number[], unchecked: [] as number[] }
  const afterIdle = { checked: [] as number[], unchecked: [] as number[] }
  for (let i = 0; i < 200; i++) {
    await timedScope(checked)
    await timedScope(unchecked)
  }
  for (let i = 0; i < 200; i++) {
    hot.checked.push(await timedScope(checked))
    hot.unchecked.push(await timedScope(unchecked))
  }
  const pings0 = checked.stats().aliases.default!.pings
  for (let i = 0; i < config.samples; i++) {
    await sleep(config.idleMs)
    // Both connections have idled for idleMs; alternate which one goes first.
    const order = i % 2 === 0 ? (['checked', 'unchecked'] as const) : (['unchecked', 'checked'] as const)
    for (const which of order) afterIdle[which].push(await timedScope(which === 'checked' ? checked : unchecked))
  }
  emit({
    event: 'idle',
    idleMs: config.idleMs,
    samples: config.samples,
    hot,
    afterIdle,
    pings: checked.stats().aliases.default!.pings - pings0,
    uncheckedPings: unchecked.stats().aliases.default!.pings,
  })
  await Promise.all([checked.shutdown(), unchecked.shutdown()])
}

async function rate(config: Extract<ValidationConfig, { kind: 'rate' }>): Promise<void> {
  const lifespan = make(config.url, true)
  await lifespan.startup()
  // The first scheduled scope comes one interval after this one, like every later scope.
  await timedScope(lifespan)
  const latencies = new Latencies()
  const before = lifespan.stats().aliases.default!
  let fired = 0
  let done = 0
  let errors = 0
  const start = performance.now()
  const pending = new Set<Promise<void>>()
  // Open loop: every tick fires the scopes due since the start, whatever the previous ones do.
  while (performance.now() - start < config.durationMs) {
    const due = Math.floor(((performance.now() - start) / 1000) * config.rate)
    while (fired < due) {
      fired++
      const t0 = performance.now()
      const p: Promise<void> = lifespan
        .scope(() => lifespan.db().query('SELECT 1'))
        .then(
          () => latencies.record(performance.now() - t0),
          () => void errors++,
        )
        .finally(() => {
          done++
          pending.delete(p)
        })
      pending.add(p)
    }
    const nextDue = ((fired + 1) / config.rate) * 1000 - (performance.now() - start)
    await sleep(Math.max(0, Math.min(nextDue, 5)))
  }
  await Promise.all(pending)
  const elapsed = performance.now() - start
  const after = lifespan.stats().aliases.default!
  emit({
    event: 'rate',
    rate: config.rate,
    achieved: (done / elapsed) * 1000,
    scopes: done,
    errors,
    validations: after.validations - before.validations,
    pings: after.pings - before.pings,
    created: after.created - before.created,
    open: after.open,
    p50: latencies.quantile(0.5),
    p99: latencies.quantile(0.99),
  })
  await lifespan.shutdown()
}

childMain(async () => {
  const config = childConfig<ValidationConfig>()
  if (config.kind === 'idle') await idle(config)
  else await rate(config)
})
