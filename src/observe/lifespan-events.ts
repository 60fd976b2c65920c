/**
 * @module
 * @internal
 * The lifespan's publications: shutdown start and end.
 */
import type { ShutdownReport } from '../shutdown.js'
import { shutdownEnd, type ShutdownEndMessage, shutdownStart, type ShutdownStartMessage } from './channels.js'

/** @internal */
export function publishShutdownStart(timeoutMs: number, activeScopes: number): void {
  if (shutdownStart.hasSubscribers) shutdownStart.publish({ timeoutMs, activeScopes } satisfies ShutdownStartMessage)
}

/** @internal */
export function publishShutdownEnd(report: ShutdownReport): void {
  if (shutdownEnd.hasSubscribers) shutdownEnd.publish({ report: { ...report } } satisfies ShutdownEndMessage)
}
