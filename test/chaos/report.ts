/**
 * @module
 * The soak's verdict ({@link collectViolations}) and its summary ({@link summaryTable}).
 */
import type { SoakResult } from './soak.js'
import { OP_KINDS } from './workload.js'

const MiB = 1024 * 1024
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`

/** Every broken promise of the run, as one line each; empty when the run passed. */
export function collectViolations(r: SoakResult): string[] {
  const v: string[] = []
  const must = (ok: boolean, message: string): void => {
    if (!ok) v.push(message)
  }
  if (r.verificationError !== undefined) v.push(`verification failed: ${r.verificationError}`)
  const ver = r.verification
  if (ver) {
    for (const [name, w] of [['insert', ver.inserts], ['transfer', ver.transfers]] as const) {
      must(w.lost === 0, `${w.lost} acknowledged ${name}(s) lost`)
      must(w.duplicated === 0, `${w.duplicated} ${name}(s) applied more than once`)
      must(w.knownFailedPresent === 0, `${w.knownFailedPresent} ${name}(s) failed with a known outcome but are present`)
      must(w.pending === 0, `${w.pending} ${name}(s) never settled`)
      must(w.phantom === 0, `${w.phantom} ${name} row(s) on the server that this run never issued`)
      must(w.wrongValues === 0, `${w.wrongValues} ${name} row(s) with values other than those sent`)
    }
    must(ver.inserts.poisonPresent === 0, `${ver.inserts.poisonPresent} insert(s) violating the CHECK constraint are present`)
    must(ver.upserts.ackedMissing === 0, `${ver.upserts.ackedMissing} acknowledged idempotent upsert(s) missing`)
    must(ver.upserts.phantom === 0, `${ver.upserts.phantom} upsert row(s) never issued`)
    must(ver.balances.total === ver.balances.expectedTotal, `total balance ${ver.balances.total}, expected ${ver.balances.expectedTotal}`)
    must(ver.balances.accountsOff === 0, `${ver.balances.accountsOff} account(s) whose balance disagrees with the transfer log`)
  }
  must(r.sends.inserts.resent === 0, `${r.sends.inserts.resent} non-idempotent insert(s) sent more than once by the library`)
  for (const [name, count] of Object.entries(r.anomalies)) v.push(`online check ${name}: ${count}`)
  must(r.uncoded.length === 0, `${r.uncoded.length}+ error(s) without a string code: ${r.uncoded.slice(0, 3).join(' | ')}`)
  must(r.unhandledRejections.length === 0, `${r.unhandledRejections.length} unhandled rejection(s): ${r.unhandledRejections.slice(0, 3).join(' | ')}`)
  must(r.uncaughtExceptions.length === 0, `${r.uncaughtExceptions.length} uncaught exception(s): ${r.uncaughtExceptions.slice(0, 3).join(' | ')}`)
  must(r.heap.samples.length >= 3, `only ${r.heap.samples.length} heap sample(s) after warm-up: run longer`)
  must(r.heap.growthBytes <= r.heap.limitBytes, `heap grew ${mib(r.heap.growthBytes)} after GC (limit ${mib(r.heap.limitBytes)})`)
  must(r.hung.length === 0, `${r.hung.length} operation(s) hung: ${r.hung.slice(0, 5).map((h) => `${h.kind} ${h.runningMs} ms`).join(', ')}`)
  const c = r.connections
  // The pool limit, plus the one short-lived side connection a pool may open to KILL (a statement
  // past queryTimeoutMs, a shutdown deadline): never one per statement.
  must(
    c.maxLiveClientSockets <= r.connectionLimit + 1,
    `up to ${c.maxLiveClientSockets} client connections at once, on two looks (pool limit ${r.connectionLimit}, plus one for KILL): ${[...c.overBudgetLooks, ...c.overLimitSamples].join('; ')}`,
  )
  must(c.lingeringSockets.length === 0, `client sockets held while closing for more than 15 s: ${c.lingeringSockets.slice(0, 5).join('; ')}`)
  const left = c.clientSocketsAfterShutdown
  must(left === undefined || left.live + left.held + left.closeWait === 0, `client sockets open after shutdown: ${JSON.stringify(left)}`)
  must(c.lifespanState === 'stopped', `lifespan state after shutdown: ${c.lifespanState}`)
  must(c.lifespanOpenAfterShutdown === 0, `stats().open after shutdown: ${c.lifespanOpenAfterShutdown}`)
  must(c.unexplainedServerSessions.length === 0, `server sessions still open after shutdown: ${c.unexplainedServerSessions.join(', ')}`)
  must(c.serverSessionsAfterPathClosed === 0, `server sessions still open after the fault path closed: ${c.serverSessionsAfterPathClosed}`)
  must(!('error' in r.shutdown), `shutdown() rejected: ${'error' in r.shutdown ? r.shutdown.error : ''}`)
  return v
}

function table(head: string[], rows: Array<Array<string | number>>): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}

/** The human summary: operations, faults, errors by code, checks. */
export function summaryTable(r: SoakResult): string {
  const out: string[] = []
  const ops = OP_KINDS.map((kind) => r.ops[kind])
  const total = ops.reduce((n, c) => n + c.ok + c.knownFailed + c.unknownFailed, 0)
  out.push(
    `## mysql-lifespan chaos soak: ${r.seconds} s, concurrency ${r.concurrency}, pool ${r.connectionLimit}, run ${r.runId}`,
    `kernel-level drops: ${r.kernel.ran ? `ran (${r.kernel.mechanism} in network namespace ${r.kernel.namespace})` : `SKIPPED: ${r.kernel.skipped}`}`,
    `${total} operations in ${(r.elapsedMs / 1000).toFixed(1)} s (${Math.round(total / (r.elapsedMs / 1000))}/s), slowest ${r.maxLatencyMs} ms`,
    '',
    '### Operations',
    table(
      ['operation', 'ok', 'failed, known outcome', 'failed, unknown outcome'],
      OP_KINDS.map((kind) => {
        const c = r.ops[kind]
        const reads = kind.startsWith('read')
        return [kind, c.ok, reads ? `${c.knownFailed} (reads)` : c.knownFailed, reads ? '-' : c.unknownFailed]
      }),
    ),
    `transfer re-runs (whole transaction): ${r.transferReruns}; insert read-backs: ${r.readbacks.done} (failed by a fault: ${r.readbacks.failed})`,
    '',
    '### Faults injected',
    table(
      ['fault', 'count', 'details'],
      Object.entries(r.faults).map(([kind, { count, details }]) => [kind, count, Object.entries(details).map(([d, n]) => `${d} ${n}`).join(', ')]),
    ),
  )
  if (r.faultFailures.length > 0) out.push(`faults that could not be injected: ${r.faultFailures.join('; ')}`)
  out.push('', '### Errors surfaced to the application, by code', r.errors.length > 0 ? table(['operation', 'code', 'count'], r.errors) : '(none)')

  const ver = r.verification
  const checks: Array<[string, string | number, string]> = []
  const row = (name: string, value: string | number, ok: boolean): void => void checks.push([name, value, ok ? 'ok' : 'VIOLATION'])
  if (ver) {
    const lost = ver.inserts.lost + ver.transfers.lost + ver.upserts.ackedMissing
    const duplicated = ver.inserts.duplicated + ver.transfers.duplicated
    row('lost (acknowledged, absent)', lost, lost === 0)
    row('duplicated (applied twice)', duplicated, duplicated === 0)
    row('known-outcome failures present', ver.inserts.knownFailedPresent + ver.transfers.knownFailedPresent, ver.inserts.knownFailedPresent + ver.transfers.knownFailedPresent === 0)
    row(
      'unknown outcome: inserts',
      `${ver.inserts.unknown} (applied ${ver.inserts.unknownApplied}, not applied ${ver.inserts.unknown - ver.inserts.unknownApplied})`,
      true,
    )
    row(
      'unknown outcome: transfers',
      `${ver.transfers.unknown} (applied ${ver.transfers.unknownApplied}, not applied ${ver.transfers.unknown - ver.transfers.unknownApplied})`,
      true,
    )
    row('unknown outcome: idempotent upserts', `${ver.upserts.unknown} (applied ${ver.upserts.unknownApplied})`, true)
    row('inserts acknowledged / known-failed', `${ver.inserts.acked} / ${ver.inserts.knownFailed}`, true)
    row('transfers acknowledged / known-failed', `${ver.transfers.acked} / ${ver.transfers.knownFailed}`, true)
    row('never settled, phantom rows, wrong values', ver.inserts.pending + ver.transfers.pending + ver.inserts.phantom + ver.transfers.phantom + ver.upserts.phantom + ver.inserts.wrongValues + ver.transfers.wrongValues, ver.inserts.pending + ver.transfers.pending + ver.inserts.phantom + ver.transfers.phantom + ver.upserts.phantom + ver.inserts.wrongValues + ver.transfers.wrongValues === 0)
    row('balance invariant (total)', `${ver.balances.total} / ${ver.balances.expectedTotal}`, ver.balances.total === ver.balances.expectedTotal)
    row('accounts disagreeing with the transfer log', ver.balances.accountsOff, ver.balances.accountsOff === 0)
  } else {
    row('verification', r.verificationError ?? 'not run', false)
  }
  row(
    'non-idempotent inserts re-sent (of those seen on the wire)',
    `${r.sends.inserts.resent} (of ${r.sends.inserts.observed})`,
    r.sends.inserts.resent === 0,
  )
  row('idempotent upserts re-sent by the library (allowed)', `${r.sends.upserts.resent} (of ${r.sends.upserts.observed})`, true)
  const anomalies = Object.values(r.anomalies).reduce((a, b) => a + b, 0)
  row('online checks (sum snapshots, read-backs, lookups)', anomalies === 0 ? 0 : JSON.stringify(r.anomalies), anomalies === 0)
  row('errors without a string code', r.uncoded.length, r.uncoded.length === 0)
  row('unhandled rejections / uncaught exceptions', `${r.unhandledRejections.length} / ${r.uncaughtExceptions.length}`, r.unhandledRejections.length + r.uncaughtExceptions.length === 0)
  row('hung operations', r.hung.length, r.hung.length === 0)
  row(
    'heap after GC, median first third -> last third',
    `${mib(r.heap.baselineBytes)} -> ${mib(r.heap.finalBytes)} (${r.heap.growthBytes >= 0 ? '+' : ''}${mib(r.heap.growthBytes)}, limit ${mib(r.heap.limitBytes)})`,
    r.heap.samples.length >= 3 && r.heap.growthBytes <= r.heap.limitBytes,
  )
  const c = r.connections
  row(
    'max client connections during the run, on two looks (pool limit); max fds held',
    `${c.maxLiveClientSockets} (${r.connectionLimit}); ${c.maxHeldClientSockets}`,
    c.maxLiveClientSockets <= r.connectionLimit + 1,
  )
  row('client sockets held while closing for more than 15 s', c.lingeringSockets.length, c.lingeringSockets.length === 0)
  const left = c.clientSocketsAfterShutdown
  row(
    'client sockets open after shutdown',
    left === undefined ? 'n/a (no ss)' : left.live + left.held + left.closeWait,
    left === undefined || left.live + left.held + left.closeWait === 0,
  )
  row('lifespan after shutdown (state, open)', `${c.lifespanState}, ${c.lifespanOpenAfterShutdown}`, c.lifespanState === 'stopped' && c.lifespanOpenAfterShutdown === 0)
  row(
    'server sessions after shutdown (processlist)',
    `${c.unexplainedServerSessions.length}` + (c.serverSessionsOfStalledLinks > 0 ? ` (+${c.serverSessionsOfStalledLinks} held by stalled proxy links)` : ''),
    c.unexplainedServerSessions.length === 0,
  )
  row('server sessions after the fault path closed', c.serverSessionsAfterPathClosed, c.serverSessionsAfterPathClosed === 0)
  const sd = r.shutdown
  row('shutdown()', 'error' in sd ? sd.error : `clean=${sd.clean} interrupted=${sd.interrupted} killed=${sd.killed} ${sd.durationMs} ms`, !('error' in sd))
  out.push('', '### Checks', table(['check', 'value', 'verdict'], checks))

  const s = r.lifespanStats
  if (s) {
    const destroyed = Object.entries(s.destroyed).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')
    out.push(
      '',
      `lifespan stats: created ${s.created}, destroyed {${destroyed}}, validations ${s.validations}, pings ${s.pings}, ` +
        `ping failures ${s.pingFailures}, retries ${s.retries}, acquire timeouts ${s.acquireTimeouts}`,
    )
  }
  if (c.overLimitSamples.length > 0) out.push(`samples with more fds held than the pool limit: ${c.overLimitSamples.join('; ')}`)
  if (c.overBudgetLooks.length > 0) out.push(`samples above the pool limit plus one, and their second look: ${c.overBudgetLooks.join('; ')}`)
  out.push(`heap after GC (s: MiB): ${r.heap.samples.map(([t, b]) => `${t}: ${(b / MiB).toFixed(1)}`).join(', ')}`)
  if (r.anomalySamples.length > 0) out.push('', 'online check samples:', ...r.anomalySamples.map((s) => `  - ${s}`))
  out.push('', r.violations.length === 0 ? 'RESULT: PASS' : `RESULT: FAIL (${r.violations.length} violation(s))`, ...r.violations.map((s) => `  - ${s}`))
  return out.join('\n')
}
