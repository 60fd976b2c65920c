/**
 * @module
 * @internal
 * The scopes' publications. The callers check `hasSubscribers` themselves (scopes are the
 * hottest path: not even a call is made while nobody listens).
 */
import type { Frame } from '../scope.js'
import { acquire, scopeEnd, type ScopeEndMessage, scopeStart, type ScopeStartMessage } from './channels.js'

export { scopeEnd, scopeStart }

/** @internal A subscriber watches acquisitions: it reads the scope from the store, so a held scope must enter it. */
export function observedAcquire(): boolean {
  return acquire.hasSubscribers
}

/** @internal Published from inside the new scope's context (`frame` is the store), so subscribers see it as current. */
export function publishScopeStart(frame: Frame | undefined): void {
  if (frame) scopeStart.publish({ scopeId: frame.id, kind: frame.kind } satisfies ScopeStartMessage)
}

/** @internal */
export function publishScopeEnd(frame: Frame, ok: boolean): void {
  scopeEnd.publish({
    scopeId: frame.id,
    kind: frame.kind,
    durationMs: Date.now() - frame.startedAt,
    ok,
    interrupted: frame.interruption !== undefined,
  } satisfies ScopeEndMessage)
}
