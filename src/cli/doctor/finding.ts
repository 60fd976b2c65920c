/**
 * @module
 * What a doctor check reports, and the settings it judges the server against.
 */

/** `error`: something will break with these settings; `warn`: works, at a cost or a risk; `ok`: fine. */
export type FindingLevel = 'ok' | 'warn' | 'error'

/** One result of the doctor. */
export interface Finding {
  /** Stable id for scripts (`max-connections`, `wait-timeout`, ...). */
  readonly id: string
  readonly level: FindingLevel
  /** One line: what was found, with the values. */
  readonly title: string
  /** Why it matters for a pool in a long-lived process. */
  readonly why: string
  /** What to change; absent when nothing needs to. */
  readonly fix?: string
}

/** The client side the server is judged against. */
export interface DoctorSettings {
  /** Connections per process (mysql2 `connectionLimit`). */
  readonly poolSize: number
  /** Processes (replicas, workers) sharing the server with this pool size each. */
  readonly instances: number
  /** The library's `maxAgeMs` (0 = no limit). */
  readonly maxAgeMs: number
  /** The library's `aliveBypassMs`. */
  readonly aliveBypassMs: number
}

/** Builds a finding; keeps the check code short. */
export function finding(id: string, level: FindingLevel, title: string, why: string, fix?: string): Finding {
  return fix === undefined ? { id, level, title, why } : { id, level, title, why, fix }
}

/** `ms` as a short human duration (`30 min`, `500 ms`, `8 h`). */
export function duration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`
  const s = ms / 1_000
  if (s < 120) return `${+s.toFixed(1)} s`
  if (s < 7_200) return `${+(s / 60).toFixed(1)} min`
  return `${+(s / 3_600).toFixed(1)} h`
}
