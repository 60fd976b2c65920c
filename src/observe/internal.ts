/**
 * @module
 * @internal
 * How the library's own statements (connect-time reads, validation pings, KILL) are kept out of
 * the traces of the scopes they serve. The pool already runs them in its home async context; a
 * tracer can add more here (the OpenTelemetry entry marks that context as "do not trace"), without
 * the core depending on any tracer.
 */

/** Runs `fn` in whatever context the library's own work should run in. */
export type InternalWrapper = <T>(fn: () => T) => T

let wrapper: InternalWrapper | undefined

/** @internal Installs the wrapper for internal work (one per process; the last call wins). */
export function setInternalWrapper(next: InternalWrapper | undefined): void {
  wrapper = next
}

/** @internal Runs the library's own work through the installed wrapper, if any. */
export function internal<T>(fn: () => T): T {
  return wrapper ? wrapper(fn) : fn()
}
