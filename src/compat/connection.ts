/**
 * @module
 * The connection a facade hands to a tool: mysql2's callback `PoolConnection` surface over a
 * scope's lease. Statements take the statement path `db(alias)` takes (src/statement.ts):
 * validation on entry, the stall bound, read re-runs only outside transactions, the lost-transaction
 * rule. A transaction the tool opens gets a connection to itself until it ends (a side lease of the
 * scope): the scope's other statements never run inside it; they use the alias's lease meanwhile.
 */
import { EventEmitter } from 'node:events'
import mysql from 'mysql2'
import { ErrorCodes, LifespanError } from '../errors.js'
import { killOnServer } from '../kill.js'
import { sqlText } from '../retry.js'
import { fitZone } from '../session-zone.js'
import { type Context, type Lease } from '../scope.js'
import { type Checkout, implicitScope, type InScope, liveContext, noop } from './checkout.js'
import { type Method, runStatement } from '../statement.js'
import { ToolTransaction } from './tool-transaction.js'
import { type Handoff, handoffOf } from './handoff.js'
import { type Callback, type CompatHost, isPlain, KILL, opensTransaction } from './host.js'
import { PromiseConnection } from './promise.js'
import { FacadeQuery, streamOn } from './query.js'
import { DriverConnectionLeft, watchWait } from './pool-exit.js'
import { isSessionSetup, setupZone } from './session-setup.js'
import { adjustReply, applySettings, NO_SETTINGS, type ToolSettings } from './settings.js'

/** What a session-setup statement resolves with: an OK packet, as mysql2 gives. */
const OK_REPLY = Object.freeze({ fieldCount: 0, affectedRows: 0, insertId: 0, info: '', serverStatus: 2, warningStatus: 0, changedRows: 0 })

const OPEN_STREAM = Object.freeze({ destroyed: false })
const CLOSED_STREAM = Object.freeze({ destroyed: true })

/**
 * @internal A mysql2-compatible connection. From `getConnection` it belongs to one scope (the
 * caller's, or an implicit one held until `release()`); from `driver().createConnection()` it
 * follows whichever scope runs each statement, like `db()`.
 */
export class FacadeConnection extends EventEmitter {
  readonly #host: CompatHost
  readonly #settings: ToolSettings
  readonly #driverMode: boolean
  /** The pool facade's own `query()`/`execute()`: one connection object for every scope at once. */
  readonly #shared: boolean
  #context: Context | undefined
  #endImplicit: (() => void) | undefined
  #pin: ToolTransaction | undefined
  #pending = 0
  /** Streams running now: a release drops the rows their consumer no longer reads. */
  #streams: Set<FacadeQuery> | undefined
  #whenIdle: Array<() => void> = []
  /** What statements with a callback return: it emits nothing (their results go to the callback). */
  #called: FacadeQuery | undefined
  #released = false
  /** The alias's hand-over, looked up at the first release of an implicit scope. */
  #handoff: Handoff | undefined
  /** Driver connections: the time zone of the tool's per-connection setup, put on each connection its statements run on. */
  #zone: string | undefined
  /** @internal Driver connections: settles once the lifespan is up (or refused). */
  ready: Promise<void> = Promise.resolve()
  /** Fields Sequelize's pool reads to validate a connection it keeps. */
  _fatalError: unknown = null
  _protocolError: unknown = null
  _closing = false
  /** Sequelize reads `stream.destroyed`; there is no socket of this connection's own. */
  get stream(): { destroyed: boolean } {
    return this._closing ? CLOSED_STREAM : OPEN_STREAM
  }
  /** @internal Told when the tool releases this connection (the pool facade's `release` event). */
  onRelease: ((conn: FacadeConnection) => void) | undefined
  /** The tool's options, as mysql2 keeps them (some tools read `config`). */
  readonly config: Record<string, unknown>
  /** mysql2's escaping helpers (the alias's defaults). */
  readonly escape = mysql.escape
  readonly escapeId = mysql.escapeId
  readonly format = mysql.format

  /** @internal */
  constructor(host: CompatHost, settings: ToolSettings, config: Record<string, unknown> = {}, driverMode = false, shared = false) {
    super()
    this.#host = host
    this.#settings = settings
    this.config = config
    this.#driverMode = driverMode
    this.#shared = shared
  }

  /**
   * @internal Pool mode: hands this connection to a tool, bound to `checkout`'s scope (see
   * {@link checkOut}). Only a fresh connection, or one whose last holder released it and whose
   * statements all settled ({@link FacadeConnection.reusable}), is bound.
   */
  bind(checkout: Checkout): void {
    this.#context = checkout.context
    this.#endImplicit = checkout.end
    this.#released = false
    this._closing = false
    this.onRelease = undefined
  }

  /** @internal Released by its last holder, nothing of it still running: it may be bound again. */
  get reusable(): boolean {
    return this.#released && this.#pending === 0 && this.#pin === undefined && this.#endImplicit === undefined
  }

  /** mysql2's `connect(cb)`: calls back once the lifespan is up. Connections are the alias's; none is opened for this one. */
  connect(cb?: (err: unknown) => void): void {
    this.ready.then(
      () => cb?.(null),
      (err: unknown) => cb?.(err),
    )
  }

  /** Server thread id of the connection statements run on right now (`KILL QUERY` targets it); null before one is bound. */
  get threadId(): number | null {
    const conn = this.#pin?.connection ?? this.#liveContext()?.frame.lease(this.#host.pool).current
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

  /** mysql2's `beginTransaction`: `START TRANSACTION` through {@link FacadeConnection.query}. */
  beginTransaction(cb?: (err: unknown) => void): void {
    this.query('START TRANSACTION', undefined, (err) => cb?.(err ?? null))
  }

  /** mysql2's `commit`. */
  commit(cb?: (err: unknown) => void): void {
    this.query('COMMIT', undefined, (err) => cb?.(err ?? null))
  }

  /** mysql2's `rollback`. */
  rollback(cb?: (err: unknown) => void): void {
    this.query('ROLLBACK', undefined, (err) => cb?.(err ?? null))
  }

  /** Backpressure of a stream: the facade's streams pause and resume their own connection. */
  pause(): void {}
  resume(): void {}

  /** The mysql2/promise form of this connection. */
  promise(): PromiseConnection {
    return new PromiseConnection(this)
  }

  /**
   * Gives the connection back once its statements settled. A transaction the tool left open is
   * rolled back by the scope's release (and logged). Outside a scope this ends the implicit scope.
   */
  release(): void {
    if (this.#released) return
    this.#released = true
    this.onRelease?.(this)
    if (this.#streams) for (const query of this.#streams) query.abandon()
    if (this.#pending === 0) this.#giveUp()
    else this.#whenIdle.push(this.#giveUp)
  }

  /**
   * Released and idle: a transaction the tool left open ends, and the implicit scope (if one was
   * opened) closes, or goes on to the next tool checkout waiting for one (handoff.ts).
   */
  #giveUp = (): void => {
    const pinned = this.#pin !== undefined
    this.#pin?.end(true)
    const end = this.#endImplicit
    const context = this.#context
    this.#endImplicit = undefined
    this.#context = undefined
    if (end && context) (this.#handoff ??= handoffOf(this.#host)).release(context, end, pinned)
  }

  /**
   * A tool gives the connection up (after its timeout, or an error it does not trust): a statement
   * still running is stopped on the server (`KILL QUERY` from a side connection with the alias's
   * settings), then the connection is released. KILL QUERY keeps the session: the scope's
   * connection stays valid.
   */
  destroy(): void {
    const threadId = this.threadId
    const { pool } = this.#host
    if (threadId !== null && this.#pending > 0) void pool.internal(() => killOnServer(pool.options.pool, [threadId], 'QUERY'))
    this.release()
  }

  /** Driver connections: retire this connection. Pool connections: mysql2's deprecated alias of `release()`. */
  end(cb?: (err: unknown) => void): void {
    this._closing = true
    this.release()
    if (cb) this.#idle(() => cb(null))
  }

  #liveContext(): Context | undefined {
    return this.#context && !this.#context.frame.closed ? this.#context : liveContext()
  }

  /**
   * Calls `fn` with a live scope: this connection's, the running one, or (outside any scope, like
   * `db()`) an implicit scope that lasts until `fn` calls `done`. Strict mode refuses the last.
   */
  #inScope(fn: InScope, fail: (err: unknown) => void): void {
    const context = this.#liveContext()
    if (context) return fn(context, noop)
    implicitScope(this.#host, fn, fail)
  }

  #dispatch(method: Method, sql: unknown, values: unknown, cb: Callback | undefined): FacadeQuery {
    if (typeof values === 'function') {
      cb = values as Callback
      values = undefined
    }
    // With a callback mysql2's Query emits nothing a tool uses (Sequelize only sets its listener limit): one per connection will do.
    const query = cb ? (this.#called ??= new FacadeQuery()) : new FacadeQuery()
    if (this.#settings !== NO_SETTINGS) {
      try {
        ;({ sql, values } = applySettings(this.#settings, method, sql, values))
      } catch (err) {
        if (cb) process.nextTick(cb, err)
        else query.fail(err)
        return query
      }
    }
    if (cb) this.#statement(method, sql, values, cb)
    else this.#stream(query, method, sql, values)
    return query
  }

  #statement(method: Method, sql: unknown, values: unknown, cb: Callback): void {
    // The common case, checked first: a connection bound to a live scope, no transaction of the
    // tool's or of db() around it, a statement that is neither KILL nor one opening a transaction.
    const context = this.#context
    if (context !== undefined && this.#pin === undefined && context.txs === undefined && !context.frame.closed && !this.#driverMode && isPlain(sql)) {
      this.#pending++
      return this.#onScope(context, noop, method, sql, values, cb)
    }
    this.#special(method, sql, values, cb)
  }

  /** Every other statement: session setup, KILL, a tool's transaction, db().transaction(), an implicit scope. */
  #special(method: Method, sql: unknown, values: unknown, cb: Callback): void {
    const text = sqlText(sql)
    if (this.#driverMode && !this.#pin && isSessionSetup(text)) {
      this.#zone = setupZone(text as string)
      return process.nextTick(cb, null, { ...OK_REPLY }, undefined)
    }
    const kill = text === undefined ? null : KILL.exec(text)
    if (kill) {
      const what = kill[1]!.toUpperCase() as 'QUERY' | 'CONNECTION'
      const { pool } = this.#host
      void pool.internal(() => killOnServer(pool.options.pool, [Number(kill[2])], what)).then((killed) => cb(null, { ...OK_REPLY, affectedRows: killed }, undefined))
      return
    }
    this.#pending++
    const pin = this.#pin
    if (pin) return pin.run(method, sql, values, (err, rows, fields) => this.#replied(err, rows, fields, cb))
    const context = this.#liveContext()
    const opens = opensTransaction(text)
    // Inside db().transaction() on this alias, the tool's statements are part of that transaction.
    const tx = context?.txs?.get(this.#host.alias)
    if (tx && !opens) {
      tx.run(method, sql, values).then(([rows, fields]) => this.#replied(null, rows, fields, cb), (err: unknown) => this.#replied(err, undefined, undefined, cb))
      return
    }
    // The server's status flags decide whether the tool opened a transaction (see #adopt). The
    // statements that open one are also known by their first word: those take the connection for
    // the tool before they are sent, so no statement of the scope queues up behind them. Through the
    // pool's own query() (every scope's at once) it stays the calling scope's, as through db().
    if (opens && (!this.#shared || tx)) {
      return this.#pinThen((err) => {
        const taken = this.#pin
        if (err || !taken) return this.#replied(err, undefined, undefined, cb)
        taken.run(method, sql, values, (e, rows, fields) => this.#replied(e, rows, fields, cb))
      })
    }
    if (context) return this.#onScope(context, noop, method, sql, values, cb)
    implicitScope(
      this.#host,
      (scope, done) => this.#onScope(scope, done, method, sql, values, cb),
      (err) => this.#replied(err, undefined, undefined, cb),
    )
  }

  /** A statement of this connection settled: adjust its rows to the tool's settings, then answer the tool. */
  #replied(err: unknown, rows: unknown, fields: unknown, cb: Callback): void {
    this.#settled()
    if (!err) adjustReply(this.#settings, rows)
    cb(err, rows, fields)
  }

  /** Driver connections: a statement that waits for another scope's connection gives the tool's pool slot back (pool-exit.ts). */
  #watchWait(context: Context): NodeJS.Timeout | undefined {
    if (!this.#driverMode || this._closing || this.listenerCount('error') === 0) return undefined
    return watchWait(this.#host.pool, context.frame.lease(this.#host.pool), this.#leave)
  }

  #leave = (): void => {
    if (this._closing || this.listenerCount('error') === 0) return
    this._closing = true
    this.emit('error', new DriverConnectionLeft(this.#host.alias))
  }

  /**
   * A statement on the scope's connection, in the tool's time zone (if it set one); `done` ends the
   * implicit scope opened for it (if one was) before the tool hears the outcome.
   */
  #onScope(context: Context, done: () => void, method: Method, sql: unknown, values: unknown, cb: Callback): void {
    const lease = context.frame.lease(this.#host.pool)
    const waiting = this.#watchWait(context)
    // A transaction the scope began through db() stays the scope's: the tool does not take it over.
    const held = lease.current
    const scopes = held !== undefined && this.#host.pool.inTransaction(held)
    runStatement(lease, this.#host.classify, { method, sql, values, options: undefined, zone: this.#zone }, (err, rows, fields) => {
      if (waiting) clearTimeout(waiting)
      if (!err && !scopes && !this.#shared) this.#adopt(context, lease)
      done()
      this.#replied(err, rows, fields, cb)
    })
  }

  /** The server says the scope's connection is now in a transaction this tool's statement opened: the tool owns it from here. */
  #adopt(context: Context, lease: Lease): void {
    const conn = lease.current
    if (this.#pin || !conn || !this.#host.pool.inTransaction(conn)) return
    this.#pin = ToolTransaction.take(this.#host, context, lease, conn, { endScope: undefined, onEnd: this.#unpinned, zone: this.#zone })
  }

  #unpinned = (tx: ToolTransaction): void => {
    if (this.#pin === tx) this.#pin = undefined
  }

  /**
   * Takes a connection for a transaction the tool is opening (see tool-transaction.ts), from the
   * running scope or from a scope opened for it.
   */
  #pinThen(done: (err: unknown) => void): void {
    if (this.#liveContext()?.txs?.has(this.#host.alias)) {
      return process.nextTick(done, new LifespanError(
        `A transaction on "${this.#host.alias}" is already open in this context (db().transaction()); the tool cannot open another on it.`,
        { code: ErrorCodes.NESTED_TRANSACTION },
      ))
    }
    this.#inScope((scope, end) => {
      const home = scope.frame.lease(this.#host.pool)
      const waiting = this.#watchWait(scope)
      home.withConnection((err, conn) => {
        if (waiting) clearTimeout(waiting)
        if (!conn) {
          end()
          return done(err)
        }
        const tx = ToolTransaction.take(this.#host, scope, home, conn, { endScope: end === noop ? undefined : end, onEnd: this.#unpinned, zone: this.#zone })
        this.#pin = tx
        fitZone(this.#host.pool, conn, this.#zone, (e) => {
          // Nothing of the transaction ran yet: the connection simply goes back.
          if (e) tx.end(false)
          done(e)
        })
      })
    }, done)
  }

  /** Rows and no-callback statements: the connection is borrowed for the statement's whole life. */
  #stream(query: FacadeQuery, method: Method, sql: unknown, values: unknown): void {
    this.#pending++
    ;(this.#streams ??= new Set()).add(query)
    const over = (end: () => void) => (): void => {
      end()
      this.#streams?.delete(query)
      this.#settled()
    }
    const pin = this.#pin
    if (pin) return streamOn(query, pin.lease, this.#host.classify, { method, sql, values, zone: this.#zone }, over(noop))
    const fail = (err: unknown): void => {
      over(noop)()
      query.fail(err)
    }
    if (this.#liveContext()?.txs?.has(this.#host.alias)) {
      return fail(new LifespanError(`A stream cannot run inside db().transaction() on "${this.#host.alias}"; run it outside the transaction.`, { code: ErrorCodes.NESTED_TRANSACTION }))
    }
    this.#inScope((context, end) => streamOn(query, context.frame.lease(this.#host.pool), this.#host.classify, { method, sql, values, zone: this.#zone }, over(end)), fail)
  }

  #settled(): void {
    // Nothing waits for the connection to go idle on most statements: no new array for them.
    if (--this.#pending > 0 || this.#whenIdle.length === 0) return
    const waiting = this.#whenIdle
    this.#whenIdle = []
    for (const fn of waiting) fn()
  }

  #idle(fn: () => void): void {
    if (this.#pending === 0) fn()
    else this.#whenIdle.push(fn)
  }
}
