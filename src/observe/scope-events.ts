/**
 * @module
 * @internal
 * The scopes' publications. The callers check `hasSubscribers` themselves (scopes are the
 * hottest path: not even a call is made while nobody listens).
 */
import { type Frame, storage } from '../scope.js'
import { scopeEnd, type ScopeEndMessage, scopeStart, type ScopeStartMessage } from './channels.js'

export { scopeEnd, scopeStart }

/** @internal Published from inside the new scope's context, so subscribers see it as current. */
export function publishScopeStart(): void {
  const frame = storage.getStore()?.frame
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
