/**
 * @module
 * @internal
 * The HTTP responses each lifespan is serving right now. A graceful close needs them:
 * Node's `server.close()` leaves a keep-alive socket open after its in-flight response
 * (until `keepAliveTimeout`), so the close has to say `Connection: close` on responses not
 * yet started and close the socket as soon as the others are out.
 *
 * @example
 * ```ts
 * track(lifespan, res)                                   // in a request scope
 * const stop = drain(lifespan, () => server.closeIdleConnections())
 * ```
 */
import type { Lifespan } from '../../index.js'

/** @internal The part of a Node response (`http.ServerResponse`, or HTTP/2's) the adapters touch. */
export interface NodeResponse {
  /** Too late for `Connection: close` once true. */
  readonly headersSent: boolean
  /** `true` once the response emitted `close` (Node 18+). */
  readonly closed?: boolean
  /** `true` once the socket under the response was destroyed (the client left). */
  readonly destroyed?: boolean
  setHeader(name: string, value: string): unknown
  /** `close` comes after the response was sent and after a client abort alike. */
  once(event: 'close', listener: () => void): unknown
}

interface Registry {
  readonly responses: Set<NodeResponse>
  /** Called whenever a response closes while a graceful close is under way. */
  readonly onClosed: Set<() => void>
}

const registries = new WeakMap<Lifespan, Registry>()

function registry(lifespan: Lifespan): Registry {
  let found = registries.get(lifespan)
  if (!found) {
    found = { responses: new Set(), onClosed: new Set() }
    registries.set(lifespan, found)
  }
  return found
}

/** Asks the client to open a new connection for its next request. */
function sayClose(res: NodeResponse): void {
  if (res.headersSent) return
  try {
    res.setHeader('Connection', 'close')
  } catch {
    // HTTP/2 forbids connection headers; its sessions are closed with GOAWAY by server.close().
  }
}

/**
 * @internal Records `res` as in flight for `lifespan` until it closes; `onClose`, if given, runs
 * then too (one listener per response instead of two).
 */
export function track(lifespan: Lifespan, res: NodeResponse, onClose?: () => void): void {
  const reg = registry(lifespan)
  if (reg.onClosed.size > 0) sayClose(res)
  reg.responses.add(res)
  res.once('close', () => {
    reg.responses.delete(res)
    onClose?.()
    for (const notify of reg.onClosed) notify()
  })
}

/**
 * @internal Starts draining `lifespan`'s responses: those not started get `Connection: close`,
 * and `onClosed` runs whenever one of them closes. Returns the function that stops it.
 */
export function drain(lifespan: Lifespan, onClosed: () => void): () => void {
  const reg = registry(lifespan)
  reg.onClosed.add(onClosed)
  for (const res of reg.responses) sayClose(res)
  return () => {
    reg.onClosed.delete(onClosed)
  }
}
