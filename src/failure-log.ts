/**
 * @module
 * Warn-level feedback while an acquisition waits: each failed connect attempt is worth a line
 * (a wrong host or a refused port shows at once instead of after `acquireTimeoutMs`), but a
 * retry loop against a dead server must not flood the log. At most one line per interval; the
 * next line says how many were left out.
 */
import { describe } from './errors.js'
import { log } from './log.js'
import type { Logger } from './options.js'

/** @internal Rate-limited warn of failed connection attempts, one per alias. */
export class FailureLog {
  readonly #intervalMs: number
  #lastAt = Number.NEGATIVE_INFINITY
  #suppressed = 0

  constructor(intervalMs = 1_000) {
    this.#intervalMs = intervalMs
  }

  /** Logs `err` at warn unless a line went out less than the interval ago (then it is counted). */
  note(logger: Logger | undefined, alias: string, err: unknown): void {
    if (!logger?.warn) return
    const now = Date.now()
    if (now - this.#lastAt < this.#intervalMs) {
      this.#suppressed++
      return
    }
    const suppressed = this.#suppressed
    this.#lastAt = now
    this.#suppressed = 0
    log(logger, 'warn', { alias, err: describe(err), suppressed }, `a connection attempt for "${alias}" failed`)
  }
}
