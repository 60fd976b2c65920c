/**
 * @module
 * Where a facade's work runs: the running scope, or (outside any scope, as `db()` does) an implicit
 * one. A tool checks a connection out per query; outside a scope each checkout holds an implicit
 * scope until the tool releases it, without an AsyncLocalStorage frame or a promise (and hands it
 * to the next waiting checkout when it may: handoff.ts).
 */
import type { PoolConnection } from 'mysql2'
import { type Context, storage } from '../scope.js'
import type { CheckoutCallback, Handoff } from './handoff.js'
import type { CompatHost } from './host.js'

/** @internal Runs with a live scope context; `done` ends the implicit scope opened for it, if one was. */
export type InScope = (context: Context, done: () => void) => void

/** @internal The running scope, unless it has ended. */
export function liveContext(): Context | undefined {
  const context = storage.getStore()
  return context && !context.frame.closed ? context : undefined
}

/** @internal The `done` of a scope that was not opened for the caller: ending it is not the caller's. */
export function noop(): void {}

/**
 * @internal Calls `fn` with an implicit scope that lasts until `fn` calls `done`, as `db()` outside any scope
 * gets; strict mode refuses it (`fail`). The scope is held by the caller (no AsyncLocalStorage
 * frame, no promise): this is every per-query checkout of a tool outside a scope.
 */
export function implicitScope(host: CompatHost, fn: InScope, fail: (err: unknown) => void): void {
  if (host.pool.options.strict) {
    // db() refuses outside a scope in strict mode, with the error that says what to do instead.
    try {
      host.db()
    } catch (err) {
      return process.nextTick(fail, err)
    }
  }
  host.hold(fn, fail)
}

/** @internal A connection checked out for a tool: its scope, the end of the implicit scope (if one was opened), the pooled connection (if bound). */
export interface Checkout {
  readonly context: Context
  readonly end: (() => void) | undefined
  readonly connection: PoolConnection | undefined
}

/**
 * @internal Pool mode's `getConnection`: the running scope's validated connection for the alias, or
 * (outside any scope) an implicit scope's, held until the tool releases it: from the pool, or
 * handed over by a tool checkout that released it (handoff.ts). Inside `db().transaction()` the
 * connection is the transaction's (busy, already validated): statements will join it, and none is
 * named here.
 */
export function checkOut(host: CompatHost, handoff: Handoff, done: CheckoutCallback): void {
  const outer = liveContext()
  if (!outer) return handoff.checkOut(done)
  if (outer.txs?.has(host.alias)) return process.nextTick(done, null, { context: outer, end: undefined, connection: undefined })
  inScope(host, outer, done)
}

/** A checkout inside a scope: the scope's connection (a function of its own: {@link checkOut} then makes no closure). */
function inScope(host: CompatHost, outer: Context, done: CheckoutCallback): void {
  outer.frame.lease(host.pool).withConnection((err, conn) => (conn ? done(null, { context: outer, end: undefined, connection: conn }) : done(err)))
}
