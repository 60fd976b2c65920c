/**
 * Load loops for the topology tests and the scale-out benchmark: a writer that inserts one
 * numbered row every few milliseconds and remembers which were acknowledged, a reader that
 * counts failed reads, and the check of acknowledged writes against a node's table. Each takes
 * plain functions, so the same loop drives mysql-lifespan, a plain mysql2 pool or a PoolCluster.
 */

/** One failed call: its error code (every error should have one) and when it happened. */
export interface Failure {
  code: string
  at: number
}

/** What a writer loop saw. */
export interface WriteLog {
  /** Sequence numbers whose INSERT was acknowledged, with the time of the acknowledgement. */
  acked: Map<number, number>
  /** Sequence numbers whose INSERT failed (applied or not: unknown to the client). */
  failed: Map<number, Failure>
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : `(no code) ${String((err as Error)?.message ?? err)}`
}

/**
 * Inserts sequence numbers 1, 2, … one after another, about `intervalMs` apart, until `stop()` is
 * called. A write that hangs holds the loop, as it would hold a request.
 */
export function writerLoop(write: (seq: number) => Promise<unknown>, intervalMs = 10): { log: WriteLog; stop: () => Promise<WriteLog> } {
  const log: WriteLog = { acked: new Map(), failed: new Map() }
  let running = true
  const done = (async () => {
    for (let seq = 1; running; seq++) {
      const started = Date.now()
      try {
        await write(seq)
        log.acked.set(seq, Date.now())
      } catch (err) {
        log.failed.set(seq, { code: codeOf(err), at: Date.now() })
      }
      await sleep(Math.max(0, intervalMs - (Date.now() - started)))
    }
  })()
  return {
    log,
    stop: async () => {
      running = false
      await done
      return log
    },
  }
}

/** What a reader loop saw. */
export interface ReadLog {
  ok: number
  failed: Failure[]
}

/** `concurrency` loops of `read()` until `stop()`. */
export function readerLoop(read: () => Promise<unknown>, concurrency = 4, intervalMs = 2): { log: ReadLog; stop: () => Promise<ReadLog> } {
  const log: ReadLog = { ok: 0, failed: [] }
  let running = true
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        await read()
        log.ok++
      } catch (err) {
        log.failed.push({ code: codeOf(err), at: Date.now() })
      }
      await sleep(intervalMs)
    }
  })
  return {
    log,
    stop: async () => {
      running = false
      await Promise.all(loops)
      return log
    },
  }
}

/** Acknowledged writes checked against the rows a node holds. */
export interface WriteAudit {
  acked: number
  /** Acknowledged but not on the node. */
  lost: number[]
  /** On the node more than once. */
  doubled: number[]
  /** Failed for the client (outcome unknown or refused), by error code. */
  failedByCode: Record<string, number>
  /** Of the failed writes, how many are on the node anyway (a write whose outcome was unknown and did apply). */
  failedButApplied: number
  /** Longest stretch between two acknowledged writes, in ms (the failover gap); Infinity when writes never came back. */
  gapMs: number
}

/** Compares `log` with `counts` (sequence number → rows holding it on the node). */
export function auditWrites(log: WriteLog, counts: Map<number, number>): WriteAudit {
  const lost: number[] = []
  const doubled: number[] = []
  for (const seq of log.acked.keys()) {
    const n = counts.get(seq) ?? 0
    if (n === 0) lost.push(seq)
    if (n > 1) doubled.push(seq)
  }
  for (const [seq, n] of counts) if (n > 1 && !doubled.includes(seq)) doubled.push(seq)
  const failedByCode: Record<string, number> = {}
  let failedButApplied = 0
  for (const [seq, f] of log.failed) {
    failedByCode[f.code] = (failedByCode[f.code] ?? 0) + 1
    if ((counts.get(seq) ?? 0) > 0) failedButApplied++
  }
  const ackTimes = [...log.acked.values()].sort((a, b) => a - b)
  let gapMs = 0
  for (let i = 1; i < ackTimes.length; i++) gapMs = Math.max(gapMs, (ackTimes[i] as number) - (ackTimes[i - 1] as number))
  const lastAck = ackTimes.at(-1) ?? Number.NEGATIVE_INFINITY
  // Failures after the last acknowledgement: writes never came back.
  if ([...log.failed.values()].some((f) => f.at > lastAck)) gapMs = Number.POSITIVE_INFINITY
  return { acked: log.acked.size, lost, doubled, failedByCode, failedButApplied, gapMs }
}
