/**
 * A client process for measure 3 (recovery), speaking the protocol of demo/fault-client.ts:
 * warm a pool of `pool` connections and print their server thread ids, wait for the parent's
 * "go" line on stdin, block the event loop for `blockMs` while the parent injects a fault, then fire `queries` reads at once and report
 * ok / failed (with code) / hung, and the time from the end of the block to the first success.
 * Modes: plain mysql2, mysql-lifespan, knex 3 (tarn pool with a ping `validate` and
 * `maxConnectionLifetimeMillis`) and Sequelize 6 (`retry.match` on disconnect errors, `pool.validate`).
 */
import mysql from 'mysql2'
import { createLifespan } from 'mysql-lifespan'
import { childConfig, emit } from './lib/child.js'
import { loadKnex, loadSequelize } from './lib/deps.js'
import { PEER_SETTINGS, SEQUELIZE_RETRY_MATCH, type RecoveryClientConfig, type RecoveryClientResult } from './lib/recovery-settings.js'

function block(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // a CPU-bound stretch: socket events queue up unread
  }
}

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

interface Client {
  run(sql: string): Promise<unknown>
  /** Thread id of the connection the statement ran on. */
  ids(): Promise<number[]>
  close(): Promise<unknown>
}

const WARM_SQL = 'SELECT CONNECTION_ID() AS id, SLEEP(0.05) AS s'

async function makeClient(config: RecoveryClientConfig): Promise<Client> {
  const n = config.pool
  const warm = async (run: () => Promise<number>): Promise<number[]> => Promise.all(Array.from({ length: n }, run))
  switch (config.mode) {
    case 'plain': {
      const pool = mysql.createPool({ uri: config.url, connectionLimit: n }).promise()
      return {
        run: (sql) => pool.query(sql),
        ids: () => warm(async () => Number(((await pool.query(WARM_SQL))[0] as Array<{ id: number }>)[0]?.id)),
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
        ids: () => warm(async () => Number(((await lifespan.scope(() => lifespan.db().query(WARM_SQL)))[0] as Array<{ id: number }>)[0]?.id)),
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
        ids: () => warm(async () => Number(((await knex.raw(WARM_SQL)) as [Array<{ id: number }>])[0][0]?.id)),
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
        ids: () => warm(async () => Number((await select(WARM_SQL))[0]?.id)),
        close: () => sequelize.close(),
      }
    }
  }
}

async function main(): Promise<void> {
  const config = childConfig<RecoveryClientConfig>()
  const client = await makeClient(config)
  emit({ event: 'warm', ids: await client.ids() })
  // The parent starts every client's block at once (clients warm at different speeds) and
  // injects the fault right after, so the fault always lands while every loop is blocked.
  await new Promise((resolve) => process.stdin.once('data', resolve))
  block(config.blockMs)

  const start = Date.now()
  const result: RecoveryClientResult = { ok: 0, failed: 0, hung: 0, codes: {}, firstSuccessMs: null, lastSettledMs: null }
  await Promise.all(
    Array.from({ length: config.queries }, async () => {
      const outcome = await Promise.race([
        client.run(config.sql).then(
          () => 'ok' as const,
          (err: unknown) => codeOf(err),
        ),
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), config.hangMs).unref()),
      ])
      if (outcome === 'hung') {
        result.hung++
        return
      }
      const elapsed = Date.now() - start
      result.lastSettledMs = Math.max(result.lastSettledMs ?? 0, elapsed)
      if (outcome === 'ok') {
        result.ok++
        result.firstSuccessMs = Math.min(result.firstSuccessMs ?? elapsed, elapsed)
      } else {
        result.failed++
        result.codes[outcome] = (result.codes[outcome] ?? 0) + 1
      }
    }),
  )
  emit({ event: 'result', ...result })
  await Promise.race([client.close().catch(() => {}), new Promise((r) => setTimeout(r, 1_500).unref())])
  // A hung pool keeps sockets open forever; this is a throwaway client.
  process.exit(0)
}

main().catch((err: unknown) => {
  emit({ event: 'error', message: String((err as Error)?.stack ?? err) })
  process.exit(1)
})
