/**
 * @module
 * `lifespan.run(main)`: a whole program between startup and shutdown, with signal handling.
 * The library never calls `process.exit`; it leaves the exit code in `process.exitCode`.
 */
import { describe, ErrorCodes, invalidArgument, LifespanError } from './errors.js'
import { log } from './log.js'
import type { Logger } from './options.js'

/** @internal What {@link runProgram} needs of a lifespan: its public lifecycle, nothing more. */
export interface RunnableLifespan {
  startup(): Promise<void>
  shutdown(): Promise<{ clean: boolean }>
  destroy(): Promise<void>
}

/** Options of `Lifespan.run`. */
export interface RunOptions {
  /**
   * Signals that start a graceful shutdown; a second one destroys at once.
   *
   * @default ['SIGINT', 'SIGTERM']
   */
  signals?: NodeJS.Signals[]
}

/** @internal The body of `Lifespan.run`; uses only the lifespan's public methods. */
export async function runProgram<T>(
  lifespan: RunnableLifespan,
  logger: Logger | undefined,
  main: (signal: AbortSignal) => T | Promise<T>,
  options: RunOptions | undefined,
): Promise<T | undefined> {
  if (typeof main !== 'function') throw invalidArgument('run() expects a function')
  const controller = new AbortController()
  const signals = options?.signals ?? ['SIGINT', 'SIGTERM']
  let received = 0
  let stopped: Promise<{ clean: boolean }> | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    received++
    log(logger, 'info', { signal }, received === 1 ? 'signal received, shutting down' : 'second signal, destroying')
    if (received === 1) {
      controller.abort(new LifespanError(`Received ${signal}`, { code: ErrorCodes.SHUTTING_DOWN }))
      stopped = lifespan.shutdown()
      stopped.catch(() => {})
    } else {
      void lifespan.destroy()
    }
  }
  for (const s of signals) process.on(s, onSignal)
  let failure: { error: unknown } | undefined
  let result: T | undefined
  try {
    await lifespan.startup()
    const work = Promise.resolve().then(() => main(controller.signal))
    // After a signal, stop waiting for main once the shutdown is over.
    const aborted = new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }))
    const gone = { gone: true } as const
    const settled = await Promise.race([
      work.then((value) => ({ value }), (error: unknown) => ({ error })),
      aborted.then(() => stopped).then(() => gone, () => gone),
    ])
    if ('error' in settled) failure = { error: settled.error }
    else if ('value' in settled) result = settled.value
  } catch (error) {
    failure = { error }
  }
  let clean = failure === undefined
  try {
    const report = await (stopped ?? lifespan.shutdown())
    clean &&= report.clean
  } catch (error) {
    clean = false
    log(logger, 'error', { err: describe(error) }, 'shutdown failed')
  } finally {
    for (const s of signals) process.off(s, onSignal)
  }
  if (received > 1) clean = false
  process.exitCode = clean ? (process.exitCode ?? 0) : 1
  if (failure) throw failure.error
  return result
}
