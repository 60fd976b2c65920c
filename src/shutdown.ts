/**
 * @module
 * The graceful shutdown's sequence, once new scopes are refused: wait for open scopes until the
 * deadline, interrupt those still running and kill their statements server-side, run the
 * `onShutdown` hooks, then end every connection (COM_QUIT), killing what does not close in time.
 */
import { log } from './log.js'
import type { Logger } from './options.js'
import type { ConnectionSource } from './pool.js'
import { type Frame, interruptedError } from './scope.js'

/** Options of {@link Lifespan.shutdown}. */
export interface ShutdownOptions {
  /**
   * How long to wait for open scopes before interrupting them, in milliseconds.
   *
   * @default the lifespan's `shutdownTimeoutMs`
   */
  timeoutMs?: number
}

/** What a shutdown did. */
export interface ShutdownReport {
  /** True when every scope finished in time and every hook succeeded. */
  clean: boolean
  /** Scopes still running at the deadline, interrupted and killed server-side. */
  interrupted: number
  /**
   * Connections killed server-side (`KILL CONNECTION`): those of scopes interrupted at the deadline
   * and those that did not close in time afterwards. The `connections killed server-side` log lines add up to it.
   */
  killed: number
  /** How long the shutdown took, in milliseconds. */
  durationMs: number
}

/** @internal What a shutdown needs from its lifespan. */
export interface ShutdownHost {
  /** Every alias's connections. */
  readonly sources: readonly ConnectionSource[]
  readonly logger: Logger | undefined
  /** The scopes still open (other than the one that called `shutdown()`). */
  openScopes(): Frame[]
  /** Registers (or clears) a check the lifespan calls whenever a scope closes. */
  onScopeClosed(check: (() => void) | undefined): void
  /** Runs the `onShutdown` hooks in a `shutdown` scope; resolves to their failures. */
  runHooks(): Promise<unknown[]>
}

/** @internal Drains, runs the hooks and ends every connection; the report and the hooks' failures. */
export async function runShutdown(host: ShutdownHost, timeoutMs: number): Promise<{ report: ShutdownReport; errors: unknown[] }> {
  const started = Date.now()
  const deadline = started + timeoutMs
  const drained = await drain(host, deadline)
  let killed = drained.killed
  const errors = await host.runHooks()
  await Promise.all(
    host.sources.map(async (pool) => {
      const grace = Math.max(250, Math.min(pool.options.shutdownTimeoutMs, deadline - Date.now()))
      killed += await pool.endAndKill(grace)
    }),
  )
  const { interrupted } = drained
  return { report: { clean: interrupted === 0 && errors.length === 0, interrupted, killed, durationMs: Date.now() - started }, errors }
}

/** Waits for open scopes until the deadline; interrupts and kills what is left. How many scopes were interrupted and connections killed. */
async function drain(host: ShutdownHost, deadline: number): Promise<{ interrupted: number; killed: number }> {
  if (host.openScopes().length > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
      const check = (): void => {
        if (host.openScopes().length === 0) {
          clearTimeout(timer)
          resolve()
        }
      }
      host.onScopeClosed(check)
      // A scope closing while we registered must not be missed.
      check()
    })
    host.onScopeClosed(undefined)
  }
  const late = host.openScopes()
  if (late.length === 0) return { interrupted: 0, killed: 0 }
  // Read the ids first: interrupting a scope destroys its connections (our side only).
  const leased = host.sources.map((pool) => ({ pool, ids: pool.leasedThreadIds() }))
  const error = interruptedError('it was still running at the shutdown deadline')
  for (const frame of late) frame.interrupt(error)
  let killed = 0
  await Promise.all(
    leased.map(async ({ pool, ids }) => {
      if (ids.length === 0) return
      killed += await pool.kill(ids)
      pool.destroyLeased('interrupted')
    }),
  )
  log(host.logger, 'warn', { interrupted: late.length }, 'scopes interrupted at the shutdown deadline')
  return { interrupted: late.length, killed }
}
