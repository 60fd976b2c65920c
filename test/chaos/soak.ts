/**
 * @module
 * The chaos soak: a disposable MariaDB, the lifespan under test in front of it through a fault
 * proxy (and, where the machine allows, a network namespace whose packets the kernel can
 * drop), a workload at concurrency 32 and a fault injector, then verification from the server.
 *
 * Timeline of a run of `seconds`:
 *   0 ........ warm-up ........ faults ........ quiet (faults off) ..... end
 *   - warm-up (10 %, at least 2 s): faults already run; from its end the heap is sampled after
 *     GC every 2 s, under load ({@link HeapTrend}).
 *   - quiet (20 %, at most 5 s): faults stop and the path is clean; the system must recover.
 *   - end: the workload stops (operations still running 30 s later count as hung), the
 *     lifespan shuts down.
 * Then the checks: connections (client sockets and server sessions), writes, balances.
 */
import { randomBytes } from 'node:crypto'
import v8 from 'node:v8'
import vm from 'node:vm'
import mysql from 'mysql2/promise'
import { startDisposableServer, type DisposableServer } from '../support/disposable-server.js'
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js'
import { type ClientSockets, clientSockets, LingerTracker, pollUntil, serverSessions } from './connections.js'
import { FaultInjector } from './faults.js'
import { type KernelPath, openKernelPath } from './kernel-path.js'
import { collectViolations, summaryTable } from './report.js'
import type { AliasStatsLike, CreateLifespan, LifespanLike, ShutdownReportLike } from './types.js'
import { SCHEMA, type Verification, verify } from './verify.js'
import { type OpCounts, type OpKind, Workload } from './workload.js'

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** `createLifespan` of the build under test (dist for the CLI, src for vitest). */
  createLifespan: CreateLifespan
  /** Length of the run. */
  seconds: number
  /** Concurrent operations. @default 32 */
  concurrency?: number
  /** Try kernel-level drops in a network namespace. @default true */
  kernelDrops?: boolean
  /** Pool size of the lifespan. @default 16 */
  connectionLimit?: number
  /** Pause after each operation, per worker, ms (0: none). @default 0 */
  thinkMs?: number
  /** Allowed heap growth after GC (median of the last third of the samples vs the first third). @default 8 MiB */
  heapGrowthLimitBytes?: number
  /** Progress and fault lines; nothing is printed when absent. */
  log?: (line: string) => void
}

/** Everything a run measured; `violations` is empty when the run passed. */
export interface SoakResult {
  seconds: number
  concurrency: number
  connectionLimit: number
  elapsedMs: number
  runId: string
  kernel: { ran: boolean; mechanism?: string; namespace?: string; skipped?: string }
  ops: Record<OpKind, OpCounts>
  /** Per fault kind: how often it ran, and what it hit (sessions killed, statements cut, ...). */
  faults: Record<string, { count: number; details: Record<string, number> }>
  faultFailures: string[]
  /** `[op, code, count]`, most frequent first. */
  errors: Array<[string, string, number]>
  anomalies: Record<string, number>
  anomalySamples: string[]
  uncoded: string[]
  readbacks: { done: number; failed: number }
  /** Inserts and upserts seen on the wire (text protocol only), and those sent more than once. */
  sends: { inserts: { observed: number; resent: number }; upserts: { observed: number; resent: number } }
  transferReruns: number
  verification: Verification | undefined
  verificationError: string | undefined
  unhandledRejections: string[]
  uncaughtExceptions: string[]
  heap: HeapTrend
  hung: Array<{ kind: string; runningMs: number }>
  maxLatencyMs: number
  connections: {
    /**
     * Most client sockets in ESTAB/SYN-SENT at one sample. A sample above the budget (pool limit
     * plus one) is looked at again at once, and the lower of the two counts.
     */
    maxLiveClientSockets: number
    /** Samples above the budget and their second look: `+9s 18 then 17 during …`. */
    overBudgetLooks: string[]
    /**
     * Most client sockets whose descriptor this process held at one sample, any state. Can pass
     * the pool limit for a moment: mysql2 frees a pool slot on the server's FIN, before the old
     * socket has finished closing. Informational; `lingeringSockets` is the leak check.
     */
    maxHeldClientSockets: number
    /** Socket states at samples where the process held more sockets than the pool limit. */
    overLimitSamples: string[]
    /** Sockets the process held, not connected, for more than 15 s (leaked handles). */
    lingeringSockets: string[]
    clientSocketsAfterShutdown: ClientSockets | undefined
    lifespanOpenAfterShutdown: number
    lifespanState: string
    serverSessionsAfterShutdown: number
    /** Server sessions left only because a stalled proxy link swallowed their client's FIN. */
    serverSessionsOfStalledLinks: number
    unexplainedServerSessions: number[]
    serverSessionsAfterPathClosed: number
  }
  shutdown: ShutdownReportLike | { error: string }
  lifespanStats: AliasStatsLike | undefined
  violations: string[]
  table: string
}

const USER = 'chaos'
const ACCOUNTS = 50
const INITIAL_BALANCE = 1_000
const HEAP_EVERY_MS = 2_000

function collectGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === 'function') return exposed
  // Inside vitest (no --expose-gc on its workers) the flag can still be turned on at run time.
  v8.setFlagsFromString('--expose-gc')
  return vm.runInNewContext('gc') as () => void
}

/**
 * Heap after GC over the run. One sample is noisy (work in flight, connections churning under
 * faults: before 132a1fc a pooled connection pinned the context of the scope that opened it,
 * see repro-socket-context-retention.test.ts, which moved the heap by up to ~8 MiB). The trend
 * compares the median of the first third of the samples (after warm-up) with the median of the
 * last third.
 */
export interface HeapTrend {
  baselineBytes: number
  finalBytes: number
  growthBytes: number
  limitBytes: number
  /** `[seconds since start, heapUsed after GC]`. */
  samples: Array<[number, number]>
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function heapTrend(samples: Array<[number, number]>, limitBytes: number): HeapTrend {
  const third = Math.max(1, Math.floor(samples.length / 3))
  const baselineBytes = median(samples.slice(0, third).map(([, bytes]) => bytes))
  const finalBytes = median(samples.slice(-third).map(([, bytes]) => bytes))
  return { baselineBytes, finalBytes, growthBytes: finalBytes - baselineBytes, limitBytes, samples }
}

function heapAfterGc(gc: () => void): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const describeError = (error: unknown): string => (error instanceof Error ? `${(error as { code?: unknown }).code ?? error.name}: ${error.message}` : String(error))

async function prepare(server: DisposableServer): Promise<void> {
  const admin = await mysql.createConnection({ host: server.host, port: server.port, user: 'root', password: '', database: 'test' })
  try {
    // Its own user, so the processlist tells the lifespan's sessions from the soak's admin ones.
    for (const host of ['%', 'localhost']) {
      await admin.query(`CREATE USER '${USER}'@'${host}'`)
      await admin.query(`GRANT ALL ON test.* TO '${USER}'@'${host}'`)
    }
    for (const sql of SCHEMA) await admin.query(sql)
    const rows = Array.from({ length: ACCOUNTS }, (_, i) => [i + 1, INITIAL_BALANCE])
    await admin.query('INSERT INTO chaos_accounts (id, balance) VALUES ?', [rows])
  } finally {
    await admin.end()
  }
}

/** Runs the soak; see the module comment. Never throws for a violation: read `violations`. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => undefined)
  const seconds = options.seconds
  const concurrency = options.concurrency ?? 32
  const connectionLimit = options.connectionLimit ?? 16
  const durationMs = Math.round(seconds * 1000)
  const warmupMs = Math.max(2_000, Math.round(durationMs * 0.1))
  const quietMs = Math.min(5_000, Math.round(durationMs * 0.2))
  const runId = randomBytes(6).toString('hex')
  const seed = randomBytes(4).readUInt32LE(0)
  const gc = collectGc()

  const unhandledRejections: string[] = []
  const uncaughtExceptions: string[] = []
  const onRejection = (reason: unknown): void => void unhandledRejections.push(describeError(reason))
  const onException = (error: unknown): void => void uncaughtExceptions.push(describeError(error))
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)

  let server: DisposableServer | undefined
  let proxy: FaultProxy | undefined
  let kernel: KernelPath | undefined
  let lifespan: LifespanLike | undefined
  const started = Date.now()
  let result: SoakResult
  try {
    server = await startDisposableServer({
      // A stalled proxy link keeps its server session; these let the server reap them as a
      // production server would: idle sessions after 30 s, and, so their row locks do not
      // block every transfer, sessions idle inside a transaction after 4 s. Lock waits end
      // after 3 s with 1205 (retryable), before the 5 s statement timeout.
      waitTimeout: 30,
      extraArgs: ['--idle-transaction-timeout=4', '--innodb-lock-wait-timeout=3'],
    })
    await prepare(server)
    proxy = await startFaultProxy({ host: server.host, port: server.port })
    let kernelInfo: SoakResult['kernel'] = { ran: false, skipped: 'disabled (--no-kernel-drops)' }
    if (options.kernelDrops ?? true) {
      const opened = await openKernelPath({ host: proxy.host, port: proxy.port })
      if (opened.path) {
        kernel = opened.path
        kernelInfo = { ran: true, mechanism: kernel.mechanism, namespace: kernel.namespace }
      } else {
        kernelInfo = { ran: false, skipped: opened.skipped }
      }
    }
    log(
      kernel
        ? `kernel-level drops: on (${kernel.mechanism} in network namespace ${kernel.namespace})`
        : `kernel-level drops: SKIPPED (${kernelInfo.skipped})`,
    )
    const entry = kernel ? { host: kernel.host, port: kernel.port } : { host: proxy.host, port: proxy.port }
    log(`lifespan connects to ${entry.host}:${entry.port}; fault proxy 127.0.0.1:${proxy.port}; server 127.0.0.1:${server.port}`)
    const url = `mysql://${USER}@${entry.host}:${entry.port}/test?connectionLimit=${connectionLimit}`
    lifespan = options.createLifespan({
      databases: { default: url },
      // Without it a statement in flight on a stalled path waits for the kernel (the default 0).
      queryTimeoutMs: 5_000,
      // Short, so connections are also replaced for age during the run.
      maxAgeMs: 15_000,
    })
    await lifespan.startup()

    const workload = new Workload({ lifespan, runId, seed, accounts: ACCOUNTS, total: ACCOUNTS * INITIAL_BALANCE, concurrency, thinkMs: options.thinkMs ?? 0 })
    // A matcher that never fires, only watches: see Workload.observe.
    void proxy.cutNextResponse((sql) => {
      workload.observe(sql)
      return false
    })
    const injector = new FaultInjector({ server, proxy, kernel, user: USER, gapMs: [200, 1_200], outageMs: [1_000, 5_000], log })
    const t0 = Date.now()
    workload.start()
    injector.start(t0 + durationMs - quietMs)

    let maxLive = 0
    let maxHeld = 0
    const overLimit: string[] = []
    const overBudget: string[] = []
    const linger = new LingerTracker(15_000)
    const samples: Array<[number, number]> = []
    let nextProgress = t0 + 10_000
    let nextHeap = t0 + warmupMs
    let quiet = false
    while (Date.now() < t0 + durationMs) {
      await sleep(1_000)
      const now = Date.now()
      const sockets = await clientSockets(entry.host, entry.port)
      if (sockets) {
        let live = sockets.live
        if (live > connectionLimit + 1) {
          // The kernel's socket table is read in batches, not as one snapshot: a socket closed and
          // its replacement opened during the read can both count. A second look at once tells
          // such a double count from connections really held over the budget.
          const second = (await clientSockets(entry.host, entry.port))?.live ?? live
          if (overBudget.length < 10) overBudget.push(`+${((now - t0) / 1000).toFixed(0)}s ${live} then ${second} during ${injector.current}`)
          live = Math.min(live, second)
        }
        maxLive = Math.max(maxLive, live)
        maxHeld = Math.max(maxHeld, sockets.held)
        linger.sample(sockets.closing)
        if (sockets.held > connectionLimit && overLimit.length < 10) {
          overLimit.push(`+${((now - t0) / 1000).toFixed(0)}s ${JSON.stringify(sockets.heldStates)} during ${injector.current}`)
        }
      }
      if (now >= nextHeap) {
        nextHeap += HEAP_EVERY_MS
        samples.push([Math.round((now - t0) / 1000), heapAfterGc(gc)])
      }
      if (!quiet && now >= t0 + durationMs - quietMs) {
        quiet = true
        await injector.stop()
        log(`[+${((Date.now() - t0) / 1000).toFixed(1)}s] faults off, quiet period`)
      }
      if (now >= nextProgress) {
        nextProgress += 10_000
        const stats = lifespan.stats().aliases.default
        log(
          `[+${((now - t0) / 1000).toFixed(0)}s] ${workload.completed} ops, open=${stats?.open} created=${stats?.created} ` +
            `retries=${stats?.retries}, slow(>20s)=${workload.slowerThan(20_000)}`,
        )
      }
    }
    await injector.stop()
    samples.push([Math.round((Date.now() - t0) / 1000), heapAfterGc(gc)])
    const hung = await workload.stop(30_000)
    const elapsedMs = Date.now() - t0

    let shutdown: SoakResult['shutdown']
    try {
      shutdown = await lifespan.shutdown({ timeoutMs: 5_000 })
    } catch (error) {
      shutdown = { error: describeError(error) }
    }
    const stats = lifespan.stats()
    const clientAfter = await pollUntil(
      () => clientSockets(entry.host, entry.port),
      (s) => s === undefined || s.live + s.held + s.closeWait === 0,
      3_000,
    )
    const after = await pollUntil(
      () => serverSessions(server as DisposableServer, USER, injector.stalledThreads),
      (s) => s.unexplained.length === 0,
      10_000,
    )
    await proxy.close()
    await kernel?.close()
    const afterPath = await pollUntil(() => server!.connectionIds(USER), (ids) => ids.length === 0, 10_000)

    let verification: Verification | undefined
    let verificationError: string | undefined
    const admin = await mysql.createConnection({ host: server.host, port: server.port, user: 'root', password: '', database: 'test' })
    try {
      verification = await verify(admin, { runId, seed, accounts: ACCOUNTS, initialBalance: INITIAL_BALANCE }, workload)
    } catch (error) {
      verificationError = describeError(error)
    } finally {
      await admin.end()
    }

    result = {
      seconds,
      concurrency,
      connectionLimit,
      elapsedMs,
      runId,
      kernel: kernelInfo,
      ops: Object.fromEntries(workload.ops) as Record<OpKind, OpCounts>,
      faults: injector.summary(),
      faultFailures: injector.failures,
      errors: [...workload.errors].map(([key, count]) => [...key.split('\t'), count] as [string, string, number]).sort((a, b) => b[2] - a[2]),
      anomalies: Object.fromEntries(workload.anomalies),
      anomalySamples: workload.samples,
      uncoded: workload.uncoded,
      readbacks: workload.readbacks,
      sends: { inserts: workload.inserts.sendTally(), upserts: workload.upserts.sendTally() },
      transferReruns: workload.transferReruns,
      verification,
      verificationError,
      unhandledRejections,
      uncaughtExceptions,
      heap: heapTrend(samples, options.heapGrowthLimitBytes ?? 8 * 1024 * 1024),
      hung,
      maxLatencyMs: Math.round(workload.maxLatencyMs),
      connections: {
        maxLiveClientSockets: maxLive,
        maxHeldClientSockets: maxHeld,
        overLimitSamples: overLimit,
        overBudgetLooks: overBudget,
        lingeringSockets: [...linger.leaked.values()],
        clientSocketsAfterShutdown: clientAfter,
        lifespanOpenAfterShutdown: stats.aliases.default?.open ?? -1,
        lifespanState: stats.state,
        serverSessionsAfterShutdown: after.all.length,
        serverSessionsOfStalledLinks: after.all.length - after.unexplained.length,
        unexplainedServerSessions: after.unexplained,
        serverSessionsAfterPathClosed: afterPath.length,
      },
      shutdown,
      lifespanStats: stats.aliases.default,
      violations: [],
      table: '',
    }
  } finally {
    await lifespan?.destroy().catch(() => undefined)
    await proxy?.close().catch(() => undefined)
    await kernel?.close().catch(() => undefined)
    await server?.stop().catch(() => undefined)
    // Late rejections of the run's last moments still count: give them a tick to arrive.
    await sleep(50)
    process.off('unhandledRejection', onRejection)
    process.off('uncaughtException', onException)
    log(`soak finished in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
  result.violations = collectViolations(result)
  result.table = summaryTable(result)
  return result
}
