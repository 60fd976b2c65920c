/**
 * @module
 * Fastify adapter: every request runs in its own task scope; the lifespan starts when the
 * app is ready and shuts down when it closes.
 *
 * @example
 * ```ts
 * const app = Fastify()
 * await app.register(fastifyLifespan, { lifespan })
 * app.get('/', async (request) => (await request.db().query('SELECT 1 AS ok'))[0])
 * await app.listen({ port: 3000 })
 * process.once('SIGTERM', () => void app.close())
 * ```
 */
import { AsyncResource } from 'node:async_hooks'
import type { FastifyPluginCallback, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify'
import fp from 'fastify-plugin'
import { type Database, ErrorCodes, type Lifespan, type Logger, type ShutdownReport } from '../index.js'
import { closeGracefully } from './shared/close-server.js'
import { track } from './shared/in-flight.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The lifespan registered with {@link fastifyLifespan}. */
    lifespan: Lifespan
  }
  interface FastifyRequest {
    // A property, not a method: two copies of this declaration (source and build, as in this
    // repository's own type check) then resolve to one type instead of clashing overloads.
    /** `lifespan.db(alias)`: statements run on the connection of this request's scope. */
    db: (alias?: string) => Database
  }
}

/** Options of {@link fastifyLifespan}. */
export interface FastifyLifespanOptions {
  /** The process's lifespan. The plugin starts it on `onReady` and shuts it down on `onClose`. */
  lifespan: Lifespan
  /**
   * Budget of `app.close()`, in milliseconds: requests in flight get until then to finish; those
   * still running are then interrupted like other scopes (their statements killed server-side,
   * their sockets closed) and the shutdown report says so (`clean: false`, `interrupted`).
   *
   * @default the lifespan's `shutdownTimeoutMs`
   */
  shutdownTimeoutMs?: number
  /**
   * Where the library logs when the lifespan was created without a logger.
   *
   * @default Fastify's own: `fastify.log`, and each request's `request.log` inside its scope
   */
  logger?: Logger
}

/**
 * What one request's scope needs to know to end at the right moment. Per-request bookkeeping is
 * the adapter's whole cost, so it is one object with no closures of its own: a slot on the
 * request rather than a WeakMap entry (ephemerons slow every young-generation GC), counters
 * changed by methods rather than by change objects.
 */
class RequestScope extends AsyncResource {
  /** Route handlers still running: after a client abort, the handler may still use the connection. */
  running = 0
  /** The response was sent, or the connection closed under it. */
  over = false
  readonly #end: () => void

  /** Created inside the scope: as an AsyncResource it re-enters it where Fastify resumes in another async context. */
  constructor(end: () => void) {
    super('mysql-lifespan:request')
    this.#end = end
  }

  /** The response closed (sent, or the client went away). */
  closed(): void {
    this.over = true
    if (this.running === 0) this.#end()
  }

  handlerStarted(): void {
    this.running++
  }

  handlerSettled(): void {
    if (--this.running === 0 && this.over) this.#end()
  }
}

/** The request's scope, in a slot declared with `decorateRequest` (one hidden class for every request). */
const kScope = Symbol('mysql-lifespan.scope')
type ScopedRequest = FastifyRequest & { [kScope]: RequestScope | null }
const NEW_SCOPE = { nested: 'new' } as const

const plugin: FastifyPluginCallback<FastifyLifespanOptions> = (fastify, options, done) => {
  const { lifespan } = options
  if (!lifespan || typeof lifespan.scope !== 'function') {
    done(new TypeError('mysql-lifespan/fastify: the `lifespan` option must be a Lifespan from createLifespan()'))
    return
  }
  const timeoutMs = options.shutdownTimeoutMs ?? lifespan.shutdownTimeoutMs
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
    done(new TypeError(`mysql-lifespan/fastify: invalid option \`shutdownTimeoutMs\`: expected a whole number >= 0, got ${String(timeoutMs)}`))
    return
  }
  // Request loggers only when the logs go to Fastify's logger anyway.
  const requestLogs = options.logger === undefined
  lifespan.useDefaultLogger(options.logger ?? fastify.log)
  fastify.decorate('lifespan', lifespan)
  fastify.decorateRequest(kScope as unknown as string, null)
  fastify.decorateRequest('db', function db(alias?: string) {
    return lifespan.db(alias)
  })

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next) => {
    let entered = false
    lifespan
      .scope(
        () =>
          new Promise<void>((end) => {
            entered = true
            const scope = new RequestScope(end)
            ;(request as ScopedRequest)[kScope] = scope
            // 'close' follows both a finished response and an aborted one; onResponse misses aborts.
            if (reply.raw.closed) scope.closed()
            track(lifespan, reply.raw, reply.raw.closed ? undefined : () => scope.closed())
            next()
          }),
        requestLogs ? { nested: 'new', logger: request.log } : NEW_SCOPE,
      )
      .catch((err: unknown) => {
        // After entry the rejection means the scope was interrupted at a shutdown deadline;
        // the handler's own statements reject with the same error, so there is nothing to answer.
        if (entered) return
        const code = (err as { code?: unknown } | null)?.code
        const refused = code === ErrorCodes.SHUTTING_DOWN || code === ErrorCodes.STOPPED
        reply.code(503)
        // Other failures (the database unreachable at a lazy startup) are not described to the client.
        next(refused ? (err as Error) : new Error('The database is unavailable.', { cause: err }))
      })
  })

  // Fastify resumes after body parsing (or a preParsing hook) in whatever async context
  // finished it; fastify 5 binds its own parsers, but custom ones and older 5.x do not.
  fastify.addHook('preValidation', (request, _reply, next) => {
    const scope = (request as ScopedRequest)[kScope]
    if (scope) scope.runInAsyncScope(next)
    else next()
  })

  // When the client aborts, the response closes while the handler may still be running its
  // statements: the scope (and its connection) must outlive the handler, so handlers are counted.
  fastify.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod
    route.handler = function countedHandler(this: unknown, request: FastifyRequest, reply: FastifyReply) {
      const scope = (request as ScopedRequest)[kScope]
      if (!scope) return handler.call(this as never, request, reply)
      scope.handlerStarted()
      const finished = (): void => scope.handlerSettled()
      try {
        const result: unknown = handler.call(this as never, request, reply)
        if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') (result as PromiseLike<unknown>).then(finished, finished)
        else finished()
        return result
      } catch (err) {
        finished()
        throw err
      }
    } as typeof route.handler
  })

  // Fastify's own close waits for every socket without a deadline, and one whose response was in
  // flight when it began stays open for `keepAliveTimeout` (72 s by default, fastify/fastify#7044).
  // The graceful close the other adapters use starts here instead: `Connection: close` on the
  // responses in flight, the lifespan's shutdown at the deadline (interrupting what still runs),
  // then every socket closed, which lets Fastify's own wait end.
  let closing: Promise<ShutdownReport> | undefined
  fastify.addHook('preClose', (next) => {
    closing = closeGracefully(fastify.server, lifespan, { timeoutMs })
    // Awaited in onClose; a rejection there is Fastify's to report.
    closing.catch(() => {})
    next()
  })

  fastify.addHook('onReady', () => lifespan.startup())
  // Fastify's own onClose, which waits for the server's sockets, runs before the ones of plugins.
  fastify.addHook('onClose', async () => {
    await (closing ?? lifespan.shutdown({ timeoutMs }))
  })
  done()
}

/**
 * The Fastify plugin: decorates `fastify.lifespan` and `request.db()`, runs every request in
 * its own task scope (visible in hooks from `onRequest` on and in the handler), starts the
 * lifespan on `onReady` and shuts it down (draining open scopes) on `onClose`.
 *
 * A request's scope ends, and its connections go back to the pool, once the response has been
 * sent or the client went away, and the route handler has settled. While the lifespan is
 * shutting down, new requests are answered with 503.
 *
 * Register it before the routes and hooks that use the database: hooks and routes added
 * earlier do not see the scope.
 *
 * @example
 * ```ts
 * await app.register(fastifyLifespan, { lifespan })
 * app.get('/users/:id', async (request) => {
 *   const [rows] = await request.db().query('SELECT * FROM users WHERE id = ?', [request.params.id])
 *   return rows
 * })
 * ```
 */
export const fastifyLifespan = fp(plugin, { fastify: '5.x', name: 'mysql-lifespan' })

export default fastifyLifespan
