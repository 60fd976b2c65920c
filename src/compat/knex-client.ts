/**
 * @module
 * `mysql-lifespan/knex`: Knex's mysql2 client with a cancellation that reaches the server. Knex
 * 3.3 cancels a statement (`.timeout(ms, { cancel: true })`) from a connection it opens itself
 * with mysql2 and its own connection settings, which are empty when it is given `connectionPool`,
 * so on `lifespan.pool()` the cancellation fails and Knex rejects with "cancelling of query
 * failed". This client sends the `KILL QUERY` through the pool facade instead: it goes to the
 * server from a side connection with the alias's settings, and Knex rejects with its own
 * `KnexTimeoutError`. Only needed for cancellation; the plain plug-in line works for the rest.
 *
 * @example
 * ```ts
 * import knex from 'knex'
 * import { knexOnLifespan } from 'mysql-lifespan/knex'
 * const db = knex(knexOnLifespan(lifespan))
 * await db.raw('SELECT SLEEP(5)').timeout(300, { cancel: true }) // rejects with KnexTimeoutError
 * ```
 */
import { createRequire } from 'node:module'
import type { Knex } from 'knex'
import { ErrorCodes, LifespanError } from '../errors.js'
import type { Pool } from './pool.js'

/** What {@link knexOnLifespan} needs of a lifespan: its pool facade. */
export interface KnexPoolSource {
  pool(alias?: string): Pool
}

/** The config {@link knexOnLifespan} returns: Knex's mysql2 client with a working cancellation, on the alias's pool facade. */
export interface KnexOnLifespanConfig {
  client: typeof Knex.Client
  connectionPool: Pool
}

interface KillingConnection {
  threadId?: unknown
}

let clientClass: typeof Knex.Client | undefined

/** Knex's own mysql2 client, loaded on first use (Knex is an optional peer). */
function knexMysql2Client(): typeof Knex.Client {
  if (clientClass) return clientClass
  const require = createRequire(import.meta.url)
  let base: typeof Knex.Client
  try {
    base = require('knex/lib/dialects/mysql2') as typeof Knex.Client
  } catch (err) {
    throw new LifespanError('mysql-lifespan/knex needs Knex 3.3 or later installed (npm install knex).', { code: ErrorCodes.UNSUPPORTED_OPTION, cause: err })
  }
  /** Knex's mysql2 client whose `cancelQuery` sends `KILL QUERY` through the pool it was given. */
  class LifespanKnexClient extends base {}
  // Knex's typings declare `cancelQuery(): void`; Knex calls it with the connection and awaits it.
  Object.defineProperty(LifespanKnexClient.prototype, 'cancelQuery', { value: cancelThroughPool, writable: true, configurable: true })
  clientClass = LifespanKnexClient
  return LifespanKnexClient
}

/** `cancelQuery` of the client: `KILL QUERY` of the connection's thread, through the pool facade Knex was given. */
function cancelThroughPool(this: { config: { connectionPool?: Pool } }, connectionToKill: KillingConnection): Promise<void> {
  const pool = this.config.connectionPool
  const threadId = Number(connectionToKill?.threadId)
  if (!pool || !Number.isInteger(threadId) || threadId <= 0) {
    return Promise.reject(new LifespanError('Knex asked to cancel a statement of a connection with no server thread id.', { code: ErrorCodes.INVALID_ARGUMENT }))
  }
  // The facade sends KILL QUERY from a side connection with the alias's settings.
  return new Promise((resolve, reject) => pool.query(`KILL QUERY ${threadId}`, (err: unknown) => (err ? reject(err) : resolve())))
}

/**
 * Knex's config for an alias of `lifespan`: `{ client, connectionPool: lifespan.pool(alias) }`, with
 * a client whose `.timeout(ms, { cancel: true })` stops the statement on the server and rejects
 * with Knex's `KnexTimeoutError`. Add your own options beside it (`{ ...knexOnLifespan(lifespan), debug: true }`).
 *
 * @throws {LifespanError} `ERR_LIFESPAN_UNKNOWN_ALIAS`; `ERR_LIFESPAN_UNSUPPORTED_OPTION` when Knex is not installed.
 */
export function knexOnLifespan(lifespan: KnexPoolSource, alias?: string): KnexOnLifespanConfig {
  return { client: knexMysql2Client(), connectionPool: lifespan.pool(alias) }
}
