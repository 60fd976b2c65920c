/**
 * A client process for measure 3 (recovery): the demo's fault client (demo/fault-client.ts,
 * whose protocol and measurement it reuses) with more pools to compare: plain mysql2,
 * mysql-lifespan, knex 3 (tarn pool with a ping `validate` and `maxConnectionLifetimeMillis`)
 * and Sequelize 6 (`retry.match` on disconnect errors, `pool.validate`).
 */
import mysql from 'mysql2'
import { createLifespan } from 'mysql-lifespan'
import { clientMain, type ClientConfig, type FaultClient, runFaultClient, WARM_SQL } from '../demo/fault-client.js'
import { loadKnex, loadSequelize } from './lib/deps.js'
import { PEER_SETTINGS, SEQUELIZE_RETRY_MATCH } from './lib/recovery-settings.js'

function pingWithTimeout(conn: mysql.Connection, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    conn.ping((err) => {
      clearTimeout(timer)
      resolve(!err)
    })
  })
}

function codeOf(err: unknown): string {
  const e = err as { code?: unknown; name?: string; parent?: { code?: unknown }; original?: { code?: unknown } } | null
  const code = e?.code ?? e?.parent?.code ?? e?.original?.code
  if (code !== undefined && code !== null) return String(code)
  return e?.name && e.name !== 'Error' ? e.name : 'NO_CODE'
}

async function makeClient(config: ClientConfig): Promise<FaultClient> {
  const n = config.pool
  const warm = async (run: () => Promise<number>): Promise<number[]> => Promise.all(Array.from({ length: n }, run))
  switch (config.mode) {
    case 'plain': {
      const pool = mysql.createPool({ uri: config.url, connectionLimit: n }).promise()
      return {
        run: (sql) => pool.query(sql),
        warm: () => warm(async () => Number(((await pool.query(WARM_SQL))[0] as Array<{ id: number }>)[0]?.id)),
        close: () => pool.end(),
      }
    }
    case 'lifespan': {
      const lifespan = createLifespan({
        databases: { default: { uri: config.url, connectionLimit: n } },
        acquireTimeoutMs: PEER_SETTINGS.acquireTimeoutMs,
        pingTimeoutMs: PEER_SETTINGS.pingTimeoutMs,
        maxAgeMs: PEER_SETTINGS.maxLifetimeMs,
        shutdownTimeoutMs: 1_000,
      })
      await lifespan.startup()
      const run = (sql: string): Promise<unknown> => lifespan.scope(() => lifespan.db().query(sql))
      return {
        run,
        warm: () => warm(async () => Number(((await lifespan.scope(() => lifespan.db().query(WARM_SQL)))[0] as Array<{ id: number }>)[0]?.id)),
        close: () => lifespan.shutdown(),
      }
    }
    case 'knex': {
      const knex = loadKnex()({
        client: 'mysql2',
        connection: config.url,
        acquireConnectionTimeout: PEER_SETTINGS.acquireTimeoutMs,
        pool: {
          min: 0,
          max: n,
          // tarn runs this on every acquire; knex awaits it and destroys the connection on false.
          validate: (conn: mysql.Connection) => pingWithTimeout(conn, PEER_SETTINGS.pingTimeoutMs),
          maxConnectionLifetimeMillis: PEER_SETTINGS.maxLifetimeMs,
        },
      })
      return {
        run: (sql) => knex.raw(sql),
        warm: () => warm(async () => Number(((await knex.raw(WARM_SQL)) as [Array<{ id: number }>])[0][0]?.id)),
        close: () => knex.destroy(),
      }
    }
    case 'sequelize': {
      const { Sequelize, QueryTypes } = loadSequelize()
      const sequelize = new Sequelize(config.url, {
        dialect: 'mysql',
        logging: false,
        pool: {
          max: n,
          min: 0,
          acquire: PEER_SETTINGS.acquireTimeoutMs,
          // sequelize-pool calls validate synchronously: it can look at the socket, not ping.
          validate: (conn?: unknown) => {
            const c = conn as { _fatalError?: unknown; _protocolError?: unknown; _closing?: boolean; stream?: { destroyed?: boolean } } | undefined
            return Boolean(c && !c._fatalError && !c._protocolError && !c._closing && !c.stream?.destroyed)
          },
        },
        retry: { max: PEER_SETTINGS.retries, match: SEQUELIZE_RETRY_MATCH },
      })
      const select = (sql: string): Promise<Array<Record<string, unknown>>> => sequelize.query(sql, { type: QueryTypes.SELECT })
      return {
        run: select,
        warm: () => warm(async () => Number((await select(WARM_SQL))[0]?.id)),
        close: () => sequelize.close(),
      }
    }
    default:
      throw new Error(`unknown client mode ${config.mode}`)
  }
}

clientMain(async (config) => runFaultClient(config, await makeClient(config), codeOf))
