/**
 * @module
 * @internal
 * The request scope every HTTP adapter uses: a `task` scope that lasts until the response
 * has closed (finished or aborted by the client) and the framework's downstream work has
 * settled, whichever comes later. Ending at the response alone would hand the connection
 * back while a handler still runs statements after `res.end()`; ending at downstream alone
 * would miss Koa and Hono bodies that are written after the middleware chain returned.
 *
 * @example
 * ```ts
 * const outcome = await requestScope(lifespan, res, () => next())
 * if (outcome === REFUSED) serviceUnavailable(res)
 * ```
 */
import type { ServerResponse } from 'node:http'
import { ErrorCodes, type Lifespan } from '../../index.js'
import { type NodeResponse, track } from './in-flight.js'

/** @internal What {@link requestScope} resolves to when the lifespan no longer admits scopes. */
export const REFUSED: unique symbol = Symbol('mysql-lifespan.refused')

/** @internal True for the errors `scope()` rejects with once shutdown has begun (or ended). */
export function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === ErrorCodes.SHUTTING_DOWN || code === ErrorCodes.STOPPED
}

/** @internal Resolves when `res` has closed; at once when it already has (the client left before we ran). */
export function whenClosed(res: NodeResponse): Promise<void> {
  if (res.closed === true || res.destroyed === true) return Promise.resolve()
  return new Promise((resolve) => res.once('close', resolve))
}

/**
 * @internal Runs `downstream` in a task scope of its own that lasts until `res` closed and
 * `downstream` settled. The returned promise settles like `downstream` (so its errors reach the
 * framework's error handling at once), or resolves to {@link REFUSED} when shutdown has begun.
 * Without `res` (a runtime that is not Node's http), the scope lasts as long as `downstream`.
 */
export function requestScope<T>(lifespan: Lifespan, res: NodeResponse | undefined, downstream: () => T | Promise<T>): Promise<T | typeof REFUSED> {
  return new Promise<T | typeof REFUSED>((resolve, reject) => {
    let entered = false
    lifespan
      .scope(() => {
        entered = true
        if (res) track(lifespan, res)
        let settled: Promise<unknown>
        try {
          const outcome = Promise.resolve(downstream())
          outcome.then(resolve, reject)
          settled = outcome.catch(() => {})
        } catch (err) {
          reject(err)
          settled = Promise.resolve()
        }
        return res ? Promise.all([settled, whenClosed(res)]) : settled
      }, { nested: 'new' })
      .catch((err: unknown) => {
        // Once downstream runs, the only rejection left is an interruption at the shutdown
        // deadline; downstream learns of it from its own statements, so it is not reported twice.
        if (entered) return
        if (isRefusal(err)) resolve(REFUSED)
        else reject(err)
      })
  })
}

/**
 * @internal Answers 503 on a Node response during shutdown, asking the client to reconnect
 * (elsewhere); a response already under way can only be cut.
 */
export function serviceUnavailable(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' })
  res.end('Service Unavailable\n')
}
