/**
 * @module
 * The Lifespan: one per process. Owns the aliases' pools, the scopes, the lifecycle
 * `created → starting → running → stopping → stopped`, and the startup/shutdown hooks.
 */
import { makeClassifier, type ErrorClass } from './classify.js'
import { type Database, type DatabaseHost } from './database.js'
import { ErrorCodes, HookError, LifespanError, invalidArgument } from './errors.js'
import { log } from './log.js'
import { type LifespanOptions, type Logger, type ResolvedOptions, resolveOptions } from './options.js'
import { Admission } from './admission.js'
import { Aliases, type CompatLinks } from './aliases.js'
import type { AliasStats } from './pool.js'
import type { CompatHost } from './compat/host.js'
import { createDriver, type Driver } from './compat/driver.js'
import { createPoolFacade, type Pool } from './compat/pool.js'
import type { LifespanState, LifespanStats, ScopeOptions } from './lifespan-types.js'
import { type Hook, runHooks } from './hooks.js'
import { type RunOptions, runProgram } from './run.js'
import { runShutdown, type ShutdownOptions, type ShutdownReport } from './shutdown.js'

export type { ShutdownOptions, ShutdownReport } from './shutdown.js'
import { type Frame, type ScopeInfo, type ScopeKind, scopeLogger, storage } from './scope.js'
import { checkHealth, type HealthOptions, type HealthReport } from './health.js'
import { publishShutdownEnd, publishShutdownStart } from './observe/lifespan-events.js'

export type { LifespanState, LifespanStats, ScopeOptions } from './lifespan-types.js'


/**
 * Keeps a process's MySQL connections healthy. Create it with {@link createLifespan}.
 *
 * @example
 * ```ts
 * const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL! } })
 * await lifespan.startup()
 * await lifespan.scope(async () => {
 *   const [rows] = await lifespan.db().query('SELECT 1 AS ok')
 * })
 * await lifespan.shutdown()
 * ```
 */
export class Lifespan {
  #options: ResolvedOptions
  #aliases: Aliases
  #classify: (error: unknown) => ErrorClass
  #state: LifespanState = 'created'
  #admission: Admission
  #startupHooks: Hook[] = []
  #shutdownHooks: Hook[] = []
  #starting: Promise<void> | undefined
  #stopping: Promise<ShutdownReport> | undefined
  #host: DatabaseHost
  #defaultLogger: Logger | undefined

  /** @internal Use {@link createLifespan}. */
  constructor(options: LifespanOptions) {
    this.#options = resolveOptions(options)
    this.#classify = makeClassifier(this.#options.classify)
    this.#aliases = new Aliases(this.#options, this.#classify)
    this.#admission = new Admission(this, [...this.#options.aliases.values()].some((a) => a.leakWarningMs > 0))
    this.#host = {
      classify: this.#classify,
      implicitScope: (fn) => this.scope(fn),
      hold: (body, fail) => this.#admission.hold(body, fail),
    }
  }

  /** Where the lifespan logs: the configured logger, else the running scope's, else the default one. */
  get #logger(): Logger | undefined {
    return this.#options.logger ?? scopeLogger() ?? this.#defaultLogger
  }

  /**
   * Sets the logger used where none was configured (for every alias without one). Adapters pass
   * their framework's logger (Fastify's `fastify.log`); a logger given to `createLifespan` wins.
   */
  useDefaultLogger(logger: Logger | undefined): this {
    this.#defaultLogger = logger
    for (const pool of this.#aliases.sources.values()) pool.defaultLogger = logger
    return this
  }

  /** The lifecycle state. */
  get state(): LifespanState {
    return this.#state
  }

  /** The configured aliases. */
  get aliases(): string[] {
    return [...this.#aliases.sources.keys()]
  }

  /** The default shutdown deadline (`shutdownTimeoutMs`), for adapters that close a server first. */
  get shutdownTimeoutMs(): number {
    return this.#options.shutdownTimeoutMs
  }

  /**
   * Registers a hook run by {@link Lifespan.startup}, in a `startup` scope, after every alias connected.
   *
   * @throws {LifespanError} `ERR_LIFESPAN_INVALID_STATE` once startup has begun.
   */
  onStartup(hook: Hook): this {
    if (typeof hook !== 'function') throw invalidArgument('onStartup() expects a function')
    if (this.#state !== 'created') throw new LifespanError('onStartup() must be called before startup().', { code: ErrorCodes.INVALID_STATE })
    this.#startupHooks.push(hook)
    return this
  }

  /**
   * Registers a hook run by {@link Lifespan.shutdown}, in a `shutdown` scope, after open scopes drained
   * and before connections are closed. Hooks run in reverse order of registration.
   */
  onShutdown(hook: Hook): this {
    if (typeof hook !== 'function') throw invalidArgument('onShutdown() expects a function')
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      throw new LifespanError('onShutdown() must be called before shutdown().', { code: ErrorCodes.INVALID_STATE })
    }
    this.#shutdownHooks.push(hook)
    return this
  }

  /** Removes a hook registered with {@link Lifespan.onShutdown} (for schedules and servers that stop on their own). */
  offShutdown(hook: Hook): this {
    const i = this.#shutdownHooks.indexOf(hook)
    if (i >= 0) this.#shutdownHooks.splice(i, 1)
    return this
  }

  /**
   * Connects every alias (retrying refused connects with backoff within `acquireTimeoutMs`), reads each
   * server's `wait_timeout`, then runs the `onStartup` hooks. Joinable: concurrent calls share one startup.
   * Scopes opened before startup start it themselves.
   *
   * @throws the connect error when an alias cannot be reached (wrong password, unknown database) or
   *   {@link AcquireTimeoutError}; {@link HookError} when a hook fails. The lifespan is then back in `created`.
   */
  startup(): Promise<void> {
    if (this.#state === 'running') return Promise.resolve()
    if (this.#starting) return this.#starting
    if (this.#state !== 'created') return Promise.reject(this.#admission.refusal())
    this.#state = 'starting'
    this.#starting = this.#startup().then(
      () => {
        this.#starting = undefined
        if (this.#state === 'starting') this.#state = 'running'
      },
      (err: unknown) => {
        this.#starting = undefined
        if (this.#state === 'starting') this.#state = 'created'
        throw err
      },
    )
    return this.#starting
  }

  async #startup(): Promise<void> {
    await Promise.all(
      [...this.#aliases.sources.values()].map(async (pool) => {
        const conn = await pool.acquire()
        pool.release(conn)
        log(pool.logger, 'info', { alias: pool.alias }, 'connected')
      }),
    )
    if (this.#startupHooks.length === 0) return
    const errors = await this.#runHooks('startup', this.#startupHooks)
    if (errors.length > 0) throw new HookError('startup', errors)
  }

  async #runHooks(kind: ScopeKind, hooks: Hook[]): Promise<unknown[]> {
    return runHooks(kind, hooks, this.#admission.hookScope(kind), this.#logger)
  }

  /**
   * Runs `fn` in a scope (a `task` unless told otherwise). Connections are leased lazily per alias and
   * released when `fn` settles. Inside another scope, `fn` joins it.
   *
   * @throws {LifespanError} `ERR_LIFESPAN_SHUTTING_DOWN` once shutdown has begun, `ERR_LIFESPAN_STOPPED`
   *   after it; `ERR_LIFESPAN_SCOPE_INTERRUPTED` when the scope outlived the shutdown deadline.
   * @example
   * ```ts
   * app.post('/orders', (req, res) => lifespan.scope(async () => {
   *   await lifespan.db().execute('INSERT INTO orders (id) VALUES (?)', [req.body.id])
   * }))
   * ```
   */
  scope<T>(fn: () => T | Promise<T>, options?: ScopeOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(invalidArgument('scope() expects a function'))
    // Nested: join the running scope (unless it already ended and fn is its straggler).
    const parent = storage.getStore()
    if (parent && !parent.frame.closed && options?.nested !== 'new') return Promise.resolve().then(fn)
    return this.#admission.run(fn, options?.kind ?? 'task', options?.logger)
  }

  /**
   * Wraps `fn` so that every call runs in its own task scope (or joins the caller's).
   *
   * @example
   * ```ts
   * const handle = lifespan.task(async (job: Job) => { await lifespan.db().query('...', [job.id]) })
   * queue.process(handle)
   * ```
   */
  task<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
    if (typeof fn !== 'function') throw invalidArgument('task() expects a function')
    return (...args: A) => this.scope(() => fn(...args))
  }

  /**
   * The handle of an alias (`default`, or the first alias, when none is named).
   * Outside any scope each call runs in an implicit one-statement scope; with `strict` it throws.
   *
   * @throws {LifespanError} `ERR_LIFESPAN_UNKNOWN_ALIAS`; `ERR_LIFESPAN_NO_SCOPE` outside a scope in strict mode.
   */
  db(alias?: string): Database {
    const name = alias ?? this.#options.defaultAlias
    const handle = this.#aliases.handle(name, this.#host)
    if (this.#aliases.source(name).options.strict && !storage.getStore()) {
      throw new LifespanError(
        `db("${name}") was used outside a scope while strict mode is on. Wrap the work in lifespan.scope(() => ...), ` +
          'use lifespan.task(fn) for jobs, or register the adapter of your framework (mysql-lifespan/fastify, /express, ...).',
        { code: ErrorCodes.NO_SCOPE },
      )
    }
    return handle
  }

  /**
   * A mysql2-compatible callback pool for query builders and ORMs (Kysely, Knex `connectionPool`,
   * Drizzle `client`): inside a scope its connections are the scope's validated connection of the
   * alias; outside any scope each `getConnection` holds an implicit scope's connection until
   * `release()`. `.promise()` gives the mysql2/promise form. `end()` retires this facade only.
   *
   * @throws {LifespanError} `ERR_LIFESPAN_UNKNOWN_ALIAS`.
   * @example
   * ```ts
   * const db = new Kysely<DB>({ dialect: new MysqlDialect({ pool: lifespan.pool() }) })
   * ```
   */
  pool(alias?: string): Pool {
    return createPoolFacade(this.#compat(alias))
  }

  /**
   * A stand-in for the mysql2 module (`createPool`, `createConnection` and their promise forms)
   * backed by this lifespan: TypeORM's `driver`, Sequelize's `dialectModule`.
   *
   * @throws {LifespanError} `ERR_LIFESPAN_UNKNOWN_ALIAS`.
   * @example
   * ```ts
   * new DataSource({ type: 'mysql', driver: lifespan.driver(), database: 'app', entities: [User] })
   * ```
   */
  driver(alias?: string): Driver {
    return createDriver(this.#compat(alias))
  }

  #compat(alias: string | undefined): CompatHost {
    return this.#aliases.compatHost(alias ?? this.#options.defaultAlias, this.#links)
  }

  #links = (name: string): CompatLinks => ({
    db: () => this.db(name),
    hold: (body, fail) => this.#admission.hold(body, fail),
    ready: () => this.#admission.ready(),
    state: () => this.#state,
  })

  /** The running scope, or `undefined` outside any scope. */
  currentScope(): ScopeInfo | undefined {
    const frame = storage.getStore()?.frame
    return frame ? { id: frame.id, kind: frame.kind, startedAt: frame.startedAt } : undefined
  }

  /** A snapshot of the state, the open scopes and each alias's counters. Holds no connection details. */
  stats(): LifespanStats {
    const aliases: Record<string, AliasStats> = {}
    for (const [alias, pool] of this.#aliases.sources) aliases[alias] = pool.stats()
    return { state: this.#state, activeScopes: this.#admission.size, aliases }
  }

  /**
   * Readiness (default) or liveness (`{ database: false }`) for probes. Readiness: the lifespan is
   * running and each alias hands out a validated connection that answers a ping within
   * `timeoutMs` (default `min(pingTimeoutMs, 1000)`), taken outside any scope; when every
   * connection is leased no slot is taken, and the alias counts as ready while connections came
   * back within the last 10 s. Liveness never touches a database: ok until the lifespan stopped.
   * Never rejects.
   *
   * @example
   * ```ts
   * app.get('/ready', async (_req, reply) => {
   *   const health = await lifespan.health()
   *   return reply.code(health.ok ? 200 : 503).send(health)
   * })
   * app.get('/live', async () => lifespan.health({ database: false }))
   * ```
   */
  health(options?: HealthOptions): Promise<HealthReport> {
    return checkHealth(this.#state, this.#aliases.sources, options)
  }

  /**
   * Graceful shutdown. In the same tick, new scopes are refused. Open scopes get until `timeoutMs`
   * to finish; those still running are then interrupted and their connections killed server-side
   * (`KILL CONNECTION` from a short-lived side connection), so nothing keeps running on the server.
   * Then the `onShutdown` hooks run in a `shutdown` scope, and every connection is ended (COM_QUIT).
   * Idempotent and joinable. Called from inside a scope, it does not wait for that scope.
   *
   * @throws {HookError} after completing the shutdown, when a hook failed.
   */
  shutdown(options?: ShutdownOptions): Promise<ShutdownReport> {
    if (this.#stopping) return this.#stopping
    const timeoutMs = options?.timeoutMs ?? this.#options.shutdownTimeoutMs
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(new LifespanError(`Invalid option \`timeoutMs\`: expected a whole number >= 0, got ${String(timeoutMs)}`, { code: ErrorCodes.INVALID_OPTION }))
    }
    const caller = storage.getStore()?.frame
    this.#state = this.#state === 'stopped' ? 'stopped' : 'stopping'
    publishShutdownStart(timeoutMs, this.#admission.size)
    // Run outside the caller's scope: the hooks get a scope of their own.
    this.#stopping = storage.exit(() => this.#shutdown(timeoutMs, caller))
    return this.#stopping
  }

  async #shutdown(timeoutMs: number, caller: Frame | undefined): Promise<ShutdownReport> {
    if (this.#starting) await this.#starting.catch(() => {})
    const { report, errors } = await runShutdown(
      {
        sources: [...this.#aliases.sources.values()],
        logger: this.#logger,
        openScopes: () => this.#admission.list(caller),
        onScopeClosed: (check) => (this.#admission.onDrained = check),
        runHooks: () => (this.#shutdownHooks.length > 0 ? this.#runHooks('shutdown', [...this.#shutdownHooks].reverse()) : Promise.resolve([])),
      },
      timeoutMs,
    )
    this.#state = 'stopped'
    log(this.#logger, report.clean ? 'info' : 'warn', { ...report }, 'shutdown complete')
    publishShutdownEnd(report)
    if (errors.length > 0) throw new HookError('shutdown', errors)
    return report
  }

  /**
   * Abrupt stop: every scope is interrupted and every socket closed now. No hook runs.
   * Idempotent; also ends a shutdown in progress.
   */
  async destroy(): Promise<void> {
    if (this.#state === 'stopped' && !this.#stopping) return
    this.#state = 'stopped'
    const error = new LifespanError('The lifespan was destroyed.', { code: ErrorCodes.STOPPED })
    for (const frame of this.#admission.list()) frame.interrupt(error)
    for (const pool of this.#aliases.sources.values()) pool.destroyAll('shutdown')
    this.#admission.onDrained?.()
  }

  /**
   * Runs a whole program: `startup()`, then `main(signal)`, then `shutdown()`. SIGINT/SIGTERM abort
   * `signal` and start the shutdown; a second signal destroys. Sets `process.exitCode` (0 when the
   * program and the shutdown were clean, 1 otherwise) and never calls `process.exit`.
   *
   * @throws what `main` or `startup` threw, after shutting down.
   * @example
   * ```ts
   * await lifespan.run(async (signal) => {
   *   while (!signal.aborted) await lifespan.task(processNextJob)()
   * })
   * ```
   */
  run<T>(main: (signal: AbortSignal) => T | Promise<T>, options?: RunOptions): Promise<T | undefined> {
    return runProgram(this, this.#options.logger, main, options)
  }
}

/**
 * Creates a {@link Lifespan}. Options are validated here; nothing connects until `startup()` or the first scope.
 *
 * @throws {InvalidOptionError} naming the first invalid option.
 * @example
 * ```ts
 * import { createLifespan } from 'mysql-lifespan'
 * export const lifespan = createLifespan({ databases: { default: 'mysql://app:secret@db:3306/app' } })
 * ```
 */
export function createLifespan(options: LifespanOptions): Lifespan {
  return new Lifespan(options)
}
