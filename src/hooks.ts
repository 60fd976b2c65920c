/**
 * @module
 * The `onStartup` / `onShutdown` hooks: each runs in turn in one scope of its own kind; a failing
 * hook is logged and collected, and the ones after it still run.
 */
import { describe } from './errors.js'
import { log } from './log.js'
import type { Logger } from './options.js'
import type { ScopeKind } from './scope.js'

/** A startup or shutdown hook. */
export type Hook = () => unknown

/**
 * @internal Runs `hooks` one after another inside `inScope` (which opens the `kind` scope); resolves
 * to their failures, the scope's own failure (an interruption) included.
 */
export async function runHooks(kind: ScopeKind, hooks: readonly Hook[], inScope: (fn: () => Promise<void>) => Promise<void>, logger: Logger | undefined): Promise<unknown[]> {
  const errors: unknown[] = []
  try {
    await inScope(async () => {
      for (const hook of hooks) {
        try {
          await hook()
        } catch (err) {
          errors.push(err)
          log(logger, 'error', { err: describe(err), kind }, `${kind} hook failed`)
        }
      }
    })
  } catch (err) {
    errors.push(err)
  }
  return errors
}
