/** Small statistics and formatting helpers shared by the measures. */

export function median(values: number[]): number {
  return quantile(values, 0.5)
}

/** Linear-interpolated quantile (q in 0..1) of unsorted values; NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

export function min(values: number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values)
}

export function max(values: number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values)
}

/**
 * Latency recorder with fixed 1 µs buckets up to `limitUs` (and one overflow bucket that
 * keeps the exact values). Recording is an array increment, cheap enough for hot loops.
 */
export class Latencies {
  private readonly buckets: Uint32Array
  private readonly overflow: number[] = []
  count = 0

  constructor(private readonly limitUs = 200_000) {
    this.buckets = new Uint32Array(limitUs)
  }

  /** Records one duration in milliseconds. */
  record(ms: number): void {
    const us = Math.round(ms * 1000)
    this.count++
    if (us < this.limitUs) this.buckets[us < 0 ? 0 : us]!++
    else this.overflow.push(us)
  }

  /** Quantile in milliseconds. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN
    const rank = Math.min(this.count - 1, Math.floor(q * this.count))
    let seen = 0
    for (let us = 0; us < this.limitUs; us++) {
      seen += this.buckets[us]!
      if (seen > rank) return us / 1000
    }
    const rest = [...this.overflow].sort((a, b) => a - b)
    return (rest[rank - seen] ?? rest[rest.length - 1] ?? 0) / 1000
  }
}

/** A markdown table; every cell already formatted. The first `textColumns` columns are left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][], textColumns = 1): string {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i < textColumns ? '---' : '---:')).join(' | ')} |`]
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`)
  return lines.join('\n')
}

export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return '-'
  return Math.round(n).toLocaleString('en-US')
}

export function fmtMs(ms: number, digits = 3): string {
  if (!Number.isFinite(ms)) return '-'
  return ms.toFixed(digits)
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(3)}x` : '-'
}

export function fmtMiB(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
