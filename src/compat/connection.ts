/**
 * @module
 * The connection a facade hands to a tool: mysql2's callback `PoolConnection` surface over a
 * scope's lease. Plain statements take the statement path of `db(alias)` (validation, the stall
 * bound, read re-runs outside transactions). A transaction the tool opens with SQL gets the
 * connection to itself until it ends: the scope's other statements use another connection
 * meanwhile, and a connection lost inside it fails the transaction instead of re-running anything.
 */
import { AsyncResource } from 'node:async_hooks'
import { EventEmitter } from 'node:events'
import mysql from 'mysql2'
import type { PoolConnection } from 'mysql2'
import { isConnectionBroken } from '../classify.js'
import { CommitOutcomeUnknownError, ErrorCodes, LifespanError, withCode } from '../errors.js'
import { killConnections } from '../kill.js'
import { isReadStatement, sqlText } from '../retry.js'
import { type Context, type Lease, storage } from '../scope.js'
import { type Callback, type CompatHost, inTransaction, isCommit, isRollback, opensTransaction } from './host.js'
import { FacadeQuery } from './query.js'
import { adjustReply, applySettings, type ToolSettings } from './settings.js'
import { ensureSetup, isSessionSetup } from './session-setup.js'
import { PromiseConnection } from './promise.js'

type Method = 'query' | 'execute'
/** Called with a connection to run on, and `finish` to call once when the statement ended. */
type Borrow = (err: unknown, conn?: PoolConnection, finish?: (err?: unknown) => void) => void

/** A tool's transaction: the connection it owns, taken out of its scope's lease. */
interface Pin {
  conn: PoolConnection
  lease: Lease
  /** Ends the scope opened for this transaction (outside any scope). */
  endScope: (() => void) | undefined
}

/** What `ROLLBACK` of a lost transaction resolves with: an OK packet, as mysql2 gives. */
const OK_REPLY = Object.freeze({ fieldCount: 0, affectedRows: 0, insertId: 0, info: '', serverStatus: 2, warningStatus: 0, changedRows: 0 })

/** The running scope, unless it has ended. */
function liveContext(): Context | undefined {
  const context = storage.getStore()
  return context && !context.frame.closed ? context : undefined
}

/**
 * @internal A mysql2-compatible connection. From `getConnection` it belongs to one scope (the
 * caller's, or an implicit one held until `release()`); from `driver().createConnection()` it
 * follows whichever scope runs each statement, like `db()`.
 */
export class FacadeConnection extends EventEmitter {
  readonly #host: CompatHost
  readonly #settings: ToolSettings
  #context: Context | undefined
  #endImplicit: (() => void) | undefined
  #pin: Pin | undefined
  #lost: LifespanError | undefined
  #pending = 0
  #whenIdle: Array<() => void> = []
  #released = false
  /** Driver connections: the tool's per-connection setup, applied to each connection it borrows. */
  #setup: string | undefined
  readonly #driverMode: boolean
  /** Fields Sequelize's pool reads to validate a connection it keeps. */
  _fatalError: unknown = null
  _protocolError: unknown = null
  _closing = false
  readonly stream = { destroyed: false }
  /** The tool's options, as mysql2 keeps them (some tools read `config`). */
  readonly config: Record<string, unknown>

  /** @internal */
  constructor(host: CompatHost, settings: ToolSettings, config: Record<string, unknown> = {}, driverMode = false) {
    super()
    this.#driverMode = driverMode
    this.#host = host
    this.#settings = settings
    this.config = config
  }

  /** @internal Pool mode: binds to the running scope (or an implicit one held until `release()`) and validates its connection. */
  open(done: (err: unknown) => void): void {
    const reply = AsyncResource.bind(done)
    const context = liveContext()
    if (context) {
      this.#context = context
      return context.frame.lease(this.#host.pool).withConnection((err) => reply(err ?? null))
    }
    const refused = this.#strictRefusal()
    if (refused) return process.nextTick(reply, refused)
    let started = false
    this.#host
      .scope(
        () =>
          new Promise<void>((end) => {
            started = true
            const implicit = storage.getStore() as Context
            implicit.frame.lease(this.#host.pool).withConnection((err) => {
              if (err) {
                end()
                return reply(err)
              }
              this.#context = implicit
              this.#endImplicit = end
              reply(null)
            })
          }),
      )
      .catch((err: unknown) => {
        if (!started) reply(err)
      })
  }

  /** @internal Driver connections: settles once the lifespan is up (or refused). */
  ready: Promise<void> = Promise.resolve()

  /** mysql2's `connect(cb)`: calls back once the lifespan is up. Connections are the alias's; nothing is opened for this one. */
  connect(cb?: (err: unknown) => void): void {
    this.ready.then(
      () => cb?.(null),
      (err: unknown) => cb?.(err),
    )
  }

  /** Server thread id of the connection statements run on right now (`KILL QUERY` targets it); null before one is bound. */
  get threadId(): number | null {
    const conn = this.#pin?.conn ?? this.#lease()?.current
    return conn?.threadId ?? null
  }

  /** mysql2's `query(sql | options, values?, callback?)`; without a callback, an emitter with `stream()`. */
  query(sql: unknown, values?: unknown, cb?: Callback): FacadeQuery {
    return this.#dispatch('query', sql, values, cb)
  }

  /** mysql2's `execute` (a server-side prepared statement), same forms as {@link FacadeConnection.query}. */
  execute(sql: unknown, values?: unknown, cb?: Callback): FacadeQuery {
    return this.#dispatch('execute', sql, values, cb)
  }

  /** Checks the connection with a round trip (a `SELECT 1` through the statement path). */
  ping(cb?: (err: unknown) => void): void {
    this.query('SELECT 1', undefined, (err) => cb?.(err ?? null))
  }

  beginTransaction(cb?: (err: unknown) => void): void {
    this.query('START TRANSACTION', undefined, (err) => cb?.(err ?? null))
  }

  commit(cb?: (err: unknown) => void): void {
    this.query('COMMIT', undefined, (err) => cb?.(err ?? null))
  }

  rollback(cb?: (err: unknown) => void): void {
    this.query('ROLLBACK', undefined, (err) => cb?.(err ?? null))
  }

  /** Backpressure of a stream: the facade's streams pause and resume their own connection. */
  pause(): void {}
  resume(): void {}

  /** mysql2's escaping helpers (the alias's defaults). */
  readonly escape = mysql.escape
  readonly escapeId = mysql.escapeId
  readonly format = mysql.format

  /** The mysql2/promise form of this connection. */
  promise(): PromiseConnection {
    return new PromiseConnection(this)
  }

  /**
   * Gives the connection back once its statements settled (a transaction left open is rolled back
   * first). Outside a scope this ends the implicit scope; inside one, the scope keeps its connection.
   */
  release(): void {
    if (this.#released) return
    this.#released = true
    this.emit('release')
    this.#idle(() => this.#rollbackAbandoned(() => {
      this.#lost = undefined
      const end = this.#endImplicit
      this.#endImplicit = undefined
      this.#context = undefined
      end?.()
    }))
  }

  /**
   * A tool gives the connection up (after a timeout, or an error it does not trust): a statement still
   * running is stopped server-side (`KILL QUERY` from a side connection with the alias's settings),
   * then the connection is released. The scope's connection stays valid: KILL QUERY keeps the session.
   */
  destroy(): void {
    const conn = this.#pin?.conn ?? this.#lease()?.current
    if (conn && this.#pending > 0 && typeof conn.threadId === 'number') {
      void killConnections(this.#host.pool.options.pool, [conn.threadId], 'QUERY')
    }
    this.release()
  }

  /** Driver connections: retire this connection. Pool connections: mysql2's deprecated alias of `release()`. */
  end(cb?: (err: unknown) => void): void {
    this._closing = true
    this.stream.destroyed = true
    this.release()
    if (cb) this.#idle(() => cb(null))
  }

  #lease(): Lease | undefined {
    const context = this.#context && !this.#context.frame.closed ? this.#context : liveContext()
    return context?.frame.lease(this.#host.pool)
  }

  #strictRefusal(): unknown {
    try {
      this.#host.db()
      return undefined
    } catch (err) {
      return err
    }
  }

  #dispatch(method: Method, sql: unknown, values: unknown, cb: Callback | undefined): FacadeQuery {
    if (typeof values === 'function') {
      cb = values as Callback
      values = undefined
    }
    const query = new FacadeQuery()
    let args: { sql: unknown; values: unknown }
    try {
      args = applySettings(this.#settings, method, sql, values)
    } catch (err) {
      if (cb) process.nextTick(cb, err)
      else query.fail(err)
      return query
    }
    if (cb) this.#statement(method, args.sql, args.values, cb)
    else this.#stream(query, method, args.sql, args.values)
    return query
  }

  #statement(method: Method, sql: unknown, values: unknown, cb: Callback): void {
    const text = sqlText(sql)
    if (this.#lost) return this.#whileLost(text, cb)
    if (this.#pin) return this.#onPin(this.#pin, method, sql, values, text, cb)
    if (this.#driverMode && isSessionSetup(text)) {
      this.#setup = text
      return process.nextTick(cb, null, { ...OK_REPLY }, undefined)
    }
    if (opensTransaction(text)) return this.#pinThen((err) => (err ? cb(err) : this.#statement(method, sql, values, cb)))
    if (this.#setup !== undefined) return this.#withSetup(method, sql, values, cb, true)
    const context = this.#context && !this.#context.frame.closed ? this.#context : undefined
    this.#pending++
    const run = (): Promise<[unknown, unknown]> => this.#host.db()[method](sql as string, values)
    let result: Promise<[unknown, unknown]>
    try {
      result = context ? storage.run(context, run) : run()
    } catch (err) {
      result = Promise.reject(err)
    }
    result.then(
      ([rows, fields]) => {
        this.#settled()
        this.#adoptTransaction(rows, context ?? liveContext())
        adjustReply(this.#settings, rows)
        cb(null, rows, fields)
      },
      (err: unknown) => {
        this.#settled()
        cb(err)
      },
    )
  }

  /**
   * A statement of a driver connection with per-connection setup: the scope's connection is set up
   * first. A read is re-run here, not by the statement path: a fresh connection needs the setup too.
   */
  #withSetup(method: Method, sql: unknown, values: unknown, cb: Callback, first: boolean): void {
    const context = liveContext()
    if (!context) {
      const refused = this.#strictRefusal()
      if (refused) return process.nextTick(cb, refused)
      let started = false
      this.#host
        .scope(
          () =>
            new Promise<void>((end) => {
              started = true
              this.#withSetup(method, sql, values, (err, rows, fields) => {
                end()
                cb(err, rows, fields)
              }, first)
            }),
        )
        .catch((err: unknown) => {
          if (!started) cb(err)
        })
      return
    }
    this.#pending++
    const settle = (err: unknown, rows?: unknown, fields?: unknown): void => {
      this.#settled()
      if (!err) {
        adjustReply(this.#settings, rows)
        return cb(null, rows, fields)
      }
      if (first && this.#host.classify(err) === 'disconnect' && isReadStatement(sql)) return this.#withSetup(method, sql, values, cb, false)
      cb(err)
    }
    context.frame.lease(this.#host.pool).withConnection((err, conn) => {
      if (!conn) return settle(err)
      ensureSetup(this.#host.pool, conn, this.#setup, (e) => {
        if (e) return settle(e)
        storage
          .run(context, () => this.#host.db()[method](sql as string, values, { idempotent: false }))
          .then(([rows, fields]) => settle(null, rows, fields), (error: unknown) => settle(error))
      })
    })
  }

  /** Rows and no-callback statements: the connection is borrowed for the statement's whole life. */
  #stream(query: FacadeQuery, method: Method, sql: unknown, values: unknown): void {
    this.#pending++
    this.#borrow((err, conn, finish) => {
      if (!conn || !finish) {
        this.#settled()
        return query.fail(err)
      }
      const done = (e?: unknown): void => {
        finish(e)
        this.#settled()
      }
      try {
        const run = conn[method] as (sql: unknown, values: unknown) => import('./query.js').RealQuery
        query.bind(run.call(conn, sql, values), conn, done)
      } catch (e) {
        done(e)
        query.fail(e)
      }
    })
  }

  /** A connection for one streamed statement: the tool's transaction's, the scope's, or an implicit scope's. */
  #borrow(use: Borrow): void {
    if (this.#lost) return use(this.#lost)
    const pin = this.#pin
    if (pin) {
      return use(null, pin.conn, (err) => {
        if (err !== undefined && this.#broken(err)) this.#loseTransaction(pin, err)
      })
    }
    const context = this.#context && !this.#context.frame.closed ? this.#context : liveContext()
    if (context) return this.#borrowFrom(context.frame.lease(this.#host.pool), undefined, use)
    const refused = this.#strictRefusal()
    if (refused) return use(refused)
    let started = false
    this.#host
      .scope(
        () =>
          new Promise<void>((end) => {
            started = true
            this.#borrowFrom((storage.getStore() as Context).frame.lease(this.#host.pool), end, use)
          }),
      )
      .catch((err: unknown) => {
        if (!started) use(err)
      })
  }

  #borrowFrom(lease: Lease, end: (() => void) | undefined, use: Borrow): void {
    lease.withConnection((err, conn) => {
      if (!conn) {
        end?.()
        return use(err)
      }
      lease.hold()
      use(null, conn, (e) => {
        lease.unhold()
        if (e !== undefined && this.#broken(e)) {
          lease.discard(conn, 'broken')
          this.#host.pool.suspectAll()
        }
        end?.()
      })
    })
  }

  #broken(err: unknown): boolean {
    return isConnectionBroken(this.#host.classify(err)) || (err as { code?: unknown } | null)?.code === ErrorCodes.QUERY_TIMEOUT
  }

  /**
   * Takes a connection for a transaction the tool is opening: out of the running scope's lease (its
   * other statements get another connection meanwhile), or from a scope opened for it.
   */
  #pinThen(done: (err: unknown) => void): void {
    const take = (lease: Lease, endScope: (() => void) | undefined): void =>
      lease.withConnection((err, conn) => {
        if (!conn) {
          endScope?.()
          return done(err)
        }
        lease.detach(conn)
        this.#pin = { conn, lease, endScope }
        ensureSetup(this.#host.pool, conn, this.#setup, (e) => {
          // Nothing of the transaction ran yet: give the connection up, no transaction is lost.
          if (e && this.#pin) this.#dropPin(this.#pin)
          done(e)
        })
      })
    const context = this.#context && !this.#context.frame.closed ? this.#context : liveContext()
    if (context?.txs?.has(this.#host.alias)) {
      return done(new LifespanError(`A transaction on "${this.#host.alias}" is already open in this context (db().transaction()); the tool cannot open another on it.`, { code: ErrorCodes.NESTED_TRANSACTION }))
    }
    if (context) return take(context.frame.lease(this.#host.pool), undefined)
    const refused = this.#strictRefusal()
    if (refused) return done(refused)
    const reply = AsyncResource.bind(done)
    let started = false
    this.#host
      .scope(
        () =>
          new Promise<void>((end) => {
            started = true
            take((storage.getStore() as Context).frame.lease(this.#host.pool), end)
          }),
      )
      .catch((err: unknown) => {
        if (!started) reply(err)
      })
  }

  /** A reply said the session is in a transaction that no hint saw coming: the tool owns the connection from here. */
  #adoptTransaction(rows: unknown, context: Context | undefined): void {
    if (this.#pin || !context || inTransaction(rows) !== true) return
    const lease = context.frame.lease(this.#host.pool)
    const conn = lease.current
    if (!conn) return
    lease.detach(conn)
    this.#pin = { conn, lease, endScope: undefined }
  }

  /** A statement of the tool's transaction: never re-run, and a lost connection loses the transaction. */
  #onPin(pin: Pin, method: Method, sql: unknown, values: unknown, text: string | undefined, cb: Callback): void {
    this.#pending++
    this.#host.pool.send(pin.conn, method, sql, values, (err, rows, fields) => {
      this.#settled()
      if (err) {
        const error = withCode(err, this.#host.classify(err))
        if (!this.#broken(err)) return cb(error)
        if (isCommit(text)) {
          this.#dropPin(pin)
          return cb(new CommitOutcomeUnknownError(error))
        }
        this.#loseTransaction(pin, error)
        return cb(error)
      }
      if (inTransaction(rows) === false) this.#unpin(pin)
      adjustReply(this.#settings, rows)
      cb(null, rows, fields)
    })
  }

  #loseTransaction(pin: Pin, cause: unknown): void {
    if (this.#pin !== pin) return
    this.#lost = new LifespanError(
      `The connection of "${this.#host.alias}" was lost inside a transaction: nothing of it was committed. ` +
        'Statements fail until ROLLBACK; start the transaction again.',
      { code: ErrorCodes.TRANSACTION_LOST, cause },
    )
    this.#dropPin(pin)
  }

  #dropPin(pin: Pin): void {
    if (this.#pin !== pin) return
    this.#pin = undefined
    this.#host.pool.destroy(pin.conn, 'broken')
    this.#host.pool.suspectAll()
    pin.endScope?.()
  }

  /** The transaction ended: the connection goes back to its scope (or to the pool when the scope has another). */
  #unpin(pin: Pin): void {
    if (this.#pin !== pin) return
    this.#pin = undefined
    if (!pin.lease.attach(pin.conn)) this.#host.pool.release(pin.conn)
    pin.endScope?.()
  }

  /** After a lost transaction: ROLLBACK resolves, COMMIT rejects, everything else rejects. */
  #whileLost(text: string | undefined, cb: Callback): void {
    const lost = this.#lost
    if (isRollback(text)) {
      this.#lost = undefined
      return process.nextTick(cb, null, { ...OK_REPLY }, undefined)
    }
    if (isCommit(text)) this.#lost = undefined
    process.nextTick(cb, lost)
  }

  /** A tool released the connection inside its transaction: roll it back before anyone else gets it. */
  #rollbackAbandoned(then: () => void): void {
    const pin = this.#pin
    if (!pin) return then()
    this.#host.pool.send(pin.conn, 'query', 'ROLLBACK', undefined, (err) => {
      if (err) this.#dropPin(pin)
      else this.#unpin(pin)
      then()
    })
  }

  #settled(): void {
    if (--this.#pending > 0) return
    const waiting = this.#whenIdle
    this.#whenIdle = []
    for (const fn of waiting) fn()
  }

  #idle(fn: () => void): void {
    if (this.#pending === 0) fn()
    else this.#whenIdle.push(fn)
  }
}
