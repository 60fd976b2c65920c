/**
 * On a 2-core machine every other busy process moves the figures. Before each trial the runner
 * waits (bounded) for the CPU to be mostly idle, and records how busy it was.
 */
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { sleep } from './stats.js'

function cpuTimes(): { idle: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const fields = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return { idle, total: fields.reduce((a, b) => a + b, 0) }
}

/** Share of CPU time (all cores) that was busy over the next `ms`; NaN where /proc/stat is unavailable. */
export async function cpuBusy(ms = 500): Promise<number> {
  try {
    const a = cpuTimes()
    await sleep(ms)
    const b = cpuTimes()
    return b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : 0
  } catch {
    return Number.NaN
  }
}

/**
 * Waits until the CPU is less than `threshold` busy, for at most `maxWaitMs`. Returns the last
 * busy share seen (what the trial starts with).
 */
export async function waitForQuiet(threshold = 0.3, maxWaitMs = 5_000): Promise<number> {
  const deadline = Date.now() + maxWaitMs
  let busy = await cpuBusy()
  while (!(busy < threshold) && Date.now() < deadline) busy = await cpuBusy()
  return busy
}

export function fmtBusy(busy: number): string {
  return Number.isFinite(busy) ? `${Math.round(busy * 100)} %` : '?'
}

/** The niceness given to the benchmark's own processes (and its own MariaDB): ahead of background work. */
export const BENCH_NICE = -5

/**
 * Raises the scheduling priority of one of the benchmark's own processes (root only; a no-op
 * elsewhere). Baselines and mysql-lifespan get the same treatment. Returns whether it worked.
 */
export function boost(pid: number | undefined): boolean {
  if (pid === undefined) return false
  try {
    os.setPriority(pid, BENCH_NICE)
    return true
  } catch {
    return false
  }
}
