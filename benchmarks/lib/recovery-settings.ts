/** Shared by the recovery runner and its client processes. */

export type RecoveryMode = 'plain' | 'lifespan' | 'knex' | 'sequelize'

/** Settings shared by the peers so the comparison is like for like. */
export const PEER_SETTINGS = {
  acquireTimeoutMs: 10_000,
  pingTimeoutMs: 1_000,
  maxLifetimeMs: 1_800_000,
  retries: 3,
}

/**
 * Sequelize's `retry.match`: the list often recommended for Sequelize (connection error classes
 * and socket codes), plus the messages mysql2 gives a dead connection (mysql2-faults.md, S6).
 * Matched against `err.message` and `err.toString()`.
 */
export const SEQUELIZE_RETRY_MATCH = [
  /SequelizeConnectionError/,
  /SequelizeConnectionRefusedError/,
  /SequelizeConnectionTimedOutError/,
  /SequelizeInvalidConnectionError/,
  /ConnectionAcquireTimeoutError/,
  /ECONNRESET/,
  /ECONNREFUSED/,
  /ETIMEDOUT/,
  /EPIPE/,
  /PROTOCOL_CONNECTION_LOST/,
  /Connection lost/,
  /closed state/,
  /because of inactivity/,
]
