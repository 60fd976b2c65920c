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

/** What one request's scope needs to know to end at the right moment. */
interface RequestScope {
  /** Captured inside the scope, to re-enter it where Fastify resumes in another async context. */
  readonly resource: AsyncResource
  /** Route handlers still running: after a client abort, the handler may still use the connection. */
  running: number
  /** The response was sent, or the connection closed under it. */
  over: boolean
  readonly end: () => void
}

const scopes = new WeakMap<FastifyRequest, RequestScope>()
const NEW_SCOPE = { nested: 'new' } as const

function settle(scope: RequestScope, change: { running?: number; over?: true }): void {
  scope.running += change.running ?? 0
  scope.over ||= change.over === true
  if (scope.over && scope.running === 0) scope.end()
}

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
            const scope: RequestScope = { resource: new AsyncResource('mysql-lifespan:request'), running: 0, over: false, end }
            scopes.set(request, scope)
            // 'close' follows both a finished response and an aborted one; onResponse misses aborts.
            if (reply.raw.closed) settle(scope, { over: true })
            else reply.raw.once('close', () => settle(scope, { over: true }))
            track(lifespan, reply.raw)
            next()
          }), requestLogs ? { nested: 'new', logger: request.log } : NEW_SCOPE)
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
    const scope = scopes.get(request)
    if (scope) scope.resource.runInAsyncScope(next)
    else next()
  })

  // When the client aborts, the response closes while the handler may still be running its
  // statements: the scope (and its connection) must outlive the handler, so handlers are counted.
  fastify.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod
    route.handler = function countedHandler(this: unknown, request: FastifyRequest, reply: FastifyReply) {
      const scope = scopes.get(request)
      if (!scope) return handler.call(this as never, request, reply)
      settle(scope, { running: 1 })
      const finished = (): void => settle(scope, { running: -1 })
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
