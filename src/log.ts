/**
 * @module
 * Calls a pino-compatible logger if one was given. A logger that throws must not
 * break the work being logged, so its errors are swallowed.
 */
import type { Logger } from './options.js'

/** @internal */
export function log(logger: Logger | undefined, level: keyof Logger, obj: object, msg: string): void {
  const fn = logger?.[level]
  if (!fn) return
  try {
    fn.call(logger, obj, msg)
  } catch {
    // A broken logger is not a reason to fail a query.
  }
}
