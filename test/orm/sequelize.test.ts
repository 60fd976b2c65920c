/** sequelize on lifespan.pool() / driver(): the shared ORM tests (test/orm/support/suite.ts), then Sequelize's own pool against the alias's. */
import { QueryTypes, Sequelize } from 'sequelize'
import { describe, expect, it } from 'vitest'
import type { Lifespan } from '../../src/index.js'
import { admin, lifespanFor, mysqlUrl, tableName } from '../support/env.js'
import { describeTool } from './support/suite.js'
import { toolErrorCode } from './support/tools.js'

describeTool('sequelize')

/** Connections of the alias in these tests: fewer than the scopes, so scopes wait for each other. */
const LIMIT = 4
const ACQUIRE_TIMEOUT_MS = 2_500

interface Run {
  outcomes: Record<string, number>
  /** Driver connections that left Sequelize's pool (their 'error' event, as Sequelize heard it). */
  left: number
  /** Rows the transactions committed. */
  rows: number
  /** Every read returned its own value. */
  readsRight: boolean
  elapsedMs: number
}

/**
 * `scopes` concurrent scopes on an alias of {@link LIMIT} connections, through Sequelize on
 * `lifespan.driver()`: a third start with `db()` (they hold a connection, then need a Sequelize
 * slot), a third with two Sequelize reads, a third with a Sequelize transaction then a read.
 * `deaf`: Sequelize's handler of its connections' 'error' event is removed (afterConnect hook), as a
 * tool that keeps a connection through mysql2's lost-connection error would.
 */
async function workload(lifespan: Lifespan, scopes: number, options: { max?: number; deaf?: boolean }): Promise<Run> {
  const t = tableName('o_seqpool')
  await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB`)
  const s = new Sequelize('test', '', '', {
    dialect: 'mysql',
    dialectModule: lifespan.driver(),
    logging: false,
    ...(options.max === undefined ? {} : { pool: { max: options.max } }),
  })
  let left = 0
  s.addHook('afterConnect', (connection) => {
    const conn = connection as { on(event: 'error', fn: (e: { code?: unknown }) => void): void; removeAllListeners(event: string): void }
    if (options.deaf) conn.removeAllListeners('error')
    else conn.on('error', (e) => void (e.code === 'PROTOCOL_CONNECTION_LOST' && left++))
  })
  await s.query('SELECT 0 AS warm', { type: QueryTypes.SELECT })
  let readsRight = true
  const read = async (v: number): Promise<void> => {
    const rows = await s.query<{ v: number }>(`SELECT ${v} AS v, SLEEP(0.05) AS s`, { type: QueryTypes.SELECT })
    if (Number(rows[0]!.v) !== v) readsRight = false
  }
  const started = Date.now()
  const settled = await Promise.allSettled(
    Array.from({ length: scopes }, (_, i) =>
      lifespan.scope(async () => {
        if (i % 3 === 0) {
          await lifespan.db().query('SELECT 1')
          await read(i)
        } else if (i % 3 === 1) {
          await read(i)
          await read(-i)
        } else {
          await s.transaction(async (transaction) => {
            await s.query(`INSERT INTO ${t} (v) VALUES ('${i}')`, { transaction })
          })
          await read(i)
        }
      }),
    ),
  )
  const elapsedMs = Date.now() - started
  const outcomes: Record<string, number> = {}
  for (const r of settled) {
    const key = r.status === 'fulfilled' ? 'ok' : toolErrorCode(r.reason)
    outcomes[key] = (outcomes[key] ?? 0) + 1
  }
  const [count] = await admin<Array<{ n: number }>>(`SELECT COUNT(*) AS n FROM ${t}`)
  await s.close()
  return { outcomes, left, rows: Number(count!.n), readsRight, elapsedMs }
}

const onFourConnections = (acquireTimeoutMs = ACQUIRE_TIMEOUT_MS): Lifespan =>
  lifespanFor({ databases: { default: { uri: mysqlUrl(), connectionLimit: LIMIT } }, acquireTimeoutMs })

describe("Sequelize's pool of driver connections against the alias's connections", () => {
  it('with Sequelize\'s default pool.max of 5, 18 scopes on 4 connections all finish: a statement waiting for a connection gives its Sequelize slot back', async () => {
    const lifespan = onFourConnections()
    const run = await workload(lifespan, 18, {})
    expect(run.outcomes).toEqual({ ok: 18 })
    expect(run.readsRight).toBe(true)
    expect(run.rows).toBe(6)
    // Without the slots given back this workload waits until acquireTimeoutMs (next test).
    expect(run.left).toBeGreaterThan(0)
    expect(run.elapsedMs).toBeLessThan(ACQUIRE_TIMEOUT_MS)
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
  })

  it('beside it: a tool that keeps its connections through that signal deadlocks until ERR_LIFESPAN_ACQUIRE_TIMEOUT with pool.max 5, and not with pool.max >= the scopes', async () => {
    // A shorter bound: every scope stuck in the deadlock waits it out.
    const deadlocked = await workload(onFourConnections(1_000), 18, { deaf: true })
    expect(deadlocked.outcomes.ERR_LIFESPAN_ACQUIRE_TIMEOUT ?? 0).toBeGreaterThan(0)
    expect(deadlocked.elapsedMs).toBeGreaterThanOrEqual(1_000)
    const roomy = await workload(onFourConnections(), 18, { deaf: true, max: 18 })
    expect(roomy.outcomes).toEqual({ ok: 18 })
    expect(roomy.rows).toBe(6)
  })

  it('while the alias has a free connection, no driver connection leaves Sequelize\'s pool', async () => {
    const lifespan = lifespanFor({ databases: { default: { uri: mysqlUrl(), connectionLimit: 8 } } })
    const run = await workload(lifespan, 6, {})
    expect(run.outcomes).toEqual({ ok: 6 })
    expect(run.left).toBe(0)
    expect(run.rows).toBe(2)
  })
})
