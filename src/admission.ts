/**
 * @module
 * Which scopes a lifespan admits, and the record of those open. A scope opened before startup
 * starts the lifespan first; once shutdown has begun only `shutdown` scopes (its hooks) are
 * admitted. Every admitted scope is counted until it closes, so that shutdown can wait for the
 * open ones and interrupt them at its deadline.
 */
import { ErrorCodes, LifespanError } from './errors.js'
import type { LifespanState } from './lifespan-types.js'
import type { Logger } from './options.js'
import { ActiveScopes, Frame, type ScopeKind } from './scope.js'

/** @internal What admission needs of the lifespan's lifecycle. */
export interface Lifecycle {
  readonly state: LifespanState
  startup(): Promise<void>
}

/** @internal The scope admission of one lifespan. */
export class Admission {
  readonly #lifecycle: Lifecycle
  readonly #captureStacks: boolean
  readonly #active = new ActiveScopes()
  /** Told when the last open scope closes (shutdown waits on it). */
  onDrained: (() => void) | undefined

  constructor(lifecycle: Lifecycle, captureStacks: boolean) {
    this.#lifecycle = lifecycle
    this.#captureStacks = captureStacks
  }

  /** How many scopes are open. */
  get size(): number {
    return this.#active.size
  }

  /** The open scopes (a copy), without `except`. */
  list(except?: Frame): Frame[] {
    return this.#active.list(except)
  }

  /** Runs `fn` in a new scope of `kind` once the lifespan admits it (starting it if needed). */
  run<T>(fn: () => T | Promise<T>, kind: ScopeKind, logger: Logger | undefined): Promise<T> {
    const { state } = this.#lifecycle
    if (state === 'running' || (state === 'stopping' && kind === 'shutdown')) return this.#open(fn, kind, logger)
    return this.ready().then(() => this.#open(fn, kind, logger))
  }

  #open<T>(fn: () => T | Promise<T>, kind: ScopeKind, logger: Logger | undefined): Promise<T> {
    // Shutdown may have begun while startup was awaited.
    const { state } = this.#lifecycle
    if (state !== 'running' && !(state === 'stopping' && kind === 'shutdown')) return Promise.reject(this.refusal())
    return this.#frame(kind, logger).run(fn, this.#forget)
  }

  /** A scope, counted among the open ones until it closes. */
  #frame(kind: ScopeKind, logger: Logger | undefined): Frame {
    const frame = new Frame(kind, this.#captureStacks)
    frame.logger = logger
    this.#active.add(frame)
    return frame
  }

  /** One scope for the hooks of `kind` (startup, shutdown), counted like any other: each hook runs in it in turn. */
  hookScope(kind: ScopeKind): <T>(fn: () => T | Promise<T>) => Promise<T> {
    const frame = this.#frame(kind, undefined)
    return (fn) => frame.run(fn, this.#forget)
  }

  /**
   * An implicit task scope its caller holds (src/compat): `body` runs with it once the lifespan is
   * running (starting it if needed); `fail` gets the refusal once shutdown has begun, or the
   * startup's failure.
   */
  hold(body: (frame: Frame, end: () => void) => void, fail: (err: unknown) => void): void {
    if (this.#lifecycle.state === 'running') return this.#frame('task', undefined).hold(this.#forget, body)
    this.ready().then(() => this.hold(body, fail), fail)
  }

  /** Settles once the lifespan runs (starting it if needed); rejects once shutdown has begun. */
  ready(): Promise<void> {
    const { state } = this.#lifecycle
    if (state === 'running') return Promise.resolve()
    if (state === 'created' || state === 'starting') return this.#lifecycle.startup().then(() => this.ready())
    return Promise.reject(this.refusal())
  }

  #forget = (frame: Frame): void => {
    this.#active.delete(frame)
    if (this.#active.size === 0) this.onDrained?.()
  }

  /** Why a scope is not admitted now. */
  refusal(): LifespanError {
    if (this.#lifecycle.state === 'stopping') {
      return new LifespanError('The lifespan is shutting down; no new scope is admitted.', { code: ErrorCodes.SHUTTING_DOWN })
    }
    return new LifespanError('The lifespan has stopped; create a new one to reconnect.', { code: ErrorCodes.STOPPED })
  }
}
