/**
 * @module
 * The routine the middleware and the interceptor share: a request's scope stays open until
 * its response is over *and* no handler is still running, because an aborted request's
 * controller can still be using the scope's connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ServiceUnavailableException } from '@nestjs/common'
import { ErrorCodes, type Lifespan } from '../../index.js'
import { track } from '../shared/in-flight.js'

/** @internal A request's open scope, as the interceptor sees it. */
export interface RequestScope {
  /** Marks a handler as running; the returned function marks it done (idempotent). */
  hold(): () => void
}

/** Keyed by Node's request object: on the Fastify platform, middleware get `request.raw`. */
const scopes = new WeakMap<IncomingMessage, RequestScope>()

/** @internal Node's request behind an Express request (itself) or a Fastify one (`raw`). */
export function rawRequest(request: unknown): IncomingMessage | undefined {
  const raw = (request as { raw?: unknown } | null)?.raw ?? request
  return raw && typeof raw === 'object' ? (raw as IncomingMessage) : undefined
}

/** @internal The scope the middleware opened for `request`, if any. */
export function requestScope(request: unknown): RequestScope | undefined {
  const raw = rawRequest(request)
  return raw ? scopes.get(raw) : undefined
}

/**
 * @internal Opens a task scope for one request and calls `next` inside it. Resolves once
 * `next` was called; rejects (without calling it) when the lifespan refuses the scope.
 */
export function openRequestScope(lifespan: Lifespan, req: IncomingMessage, res: ServerResponse, next: () => void): Promise<void> {
  return new Promise<void>((entered, refused) => {
    let inside = false
    lifespan
      .scope(
        () =>
          new Promise<void>((end) => {
            inside = true
            let running = 0
            let over = false
            const settle = (): void => {
              if (over && running === 0) end()
            }
            scopes.set(req, {
              hold() {
                running++
                let done = false
                return () => {
                  if (done) return
                  done = true
                  running--
                  settle()
                }
              },
            })
            // Lets a graceful close ask this response's client not to keep the socket alive.
            track(lifespan, res)
            // 'close' follows a finished response and an aborted one alike.
            const onClose = (): void => {
              over = true
              settle()
            }
            if (res.closed) onClose()
            else res.once('close', onClose)
            entered()
            next()
          }), { nested: 'new' })
      // Once inside, a rejection means the scope was interrupted at a shutdown deadline; the
      // controller's statements reject with the same error, so there is nothing left to answer.
      .catch((err: unknown) => {
        if (!inside) refused(err)
      })
  })
}

/** @internal Node's response behind an Express response (itself) or a Fastify reply (`raw`). */
export function rawResponse(response: unknown): ServerResponse | undefined {
  const raw = (response as { raw?: unknown } | null)?.raw ?? response
  return raw && typeof raw === 'object' && typeof (raw as ServerResponse).once === 'function' ? (raw as ServerResponse) : undefined
}

/**
 * @internal The HTTP answer to a refused scope: 503 with the library's code during shutdown;
 * any other failure (the database unreachable at a lazy startup) is not described to the client.
 */
export function unavailable(err: unknown): ServiceUnavailableException {
  const code = (err as { code?: unknown } | null)?.code
  const refused = code === ErrorCodes.SHUTTING_DOWN || code === ErrorCodes.STOPPED
  const body = refused ? { code, message: (err as Error).message } : { message: 'The database is unavailable.' }
  return new ServiceUnavailableException({ statusCode: 503, error: 'Service Unavailable', ...body }, { cause: err })
}
