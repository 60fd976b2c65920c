/**
 * `mysql-lifespan/knex`: Knex's `.timeout(ms, { cancel: true })` on the pool facade. With the plain
 * plug-in line Knex cancels from a connection of its own with empty settings (it fails: "cancelling
 * of query failed"); with `knexOnLifespan()` the KILL QUERY goes through the facade, and Knex
 * rejects with its own KnexTimeoutError, as it does on its own pool.
 */
import knexFactory from 'knex'
import { describe, expect, it } from 'vitest'
import { knexOnLifespan } from '../../src/compat/knex-client.js'
import { lifespanFor, mysqlUrl, runningAfter, sleep } from '../support/env.js'

describe('mysql-lifespan/knex: cancellation that reaches the server', () => {
  it('.timeout(ms, { cancel: true }) stops the statement and rejects with KnexTimeoutError, as Knex on its own pool does; no connection is left behind', async () => {
    const own = knexFactory({ client: 'mysql2', connection: mysqlUrl(), pool: { min: 0, max: 2 } })
    const ownErr = (await own.raw("SELECT SLEEP(5) AS s, 'kc_own' AS m").timeout(300, { cancel: true }).then(() => undefined, (e: unknown) => e)) as Error
    await own.destroy()
    expect(ownErr.name).toBe('KnexTimeoutError')

    const lifespan = lifespanFor()
    const k = knexFactory(knexOnLifespan(lifespan))
    const marker = `kc_${process.pid}`
    const err = (await k.raw(`SELECT SLEEP(5) AS s, '${marker}' AS m`).timeout(300, { cancel: true }).then(() => undefined, (e: unknown) => e)) as Error & { timeout?: number }
    expect(err).toBeDefined()
    expect({ name: err.name, message: err.message, timeout: err.timeout }).toEqual({ name: ownErr.name, message: ownErr.message, timeout: 300 })
    // SLEEP(5) would still be running for seconds had the KILL not reached the server.
    expect(await runningAfter(marker, 2_500)).toBe(0)
    for (let i = 0; i < 100 && lifespan.stats().aliases.default!.inUse > 0; i++) await sleep(20)
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
    // The connection works for the next statement.
    expect(((await k.raw('SELECT 1 AS one')) as [Array<{ one: number }>])[0][0]!.one).toBe(1)
    await k.destroy()
  })

  it('the plain plug-in line beside it: Knex cannot cancel through connectionPool (its KILL connection has no settings)', async () => {
    const lifespan = lifespanFor()
    const k = knexFactory({ client: 'mysql2', connectionPool: lifespan.pool() })
    const err = (await k.raw("SELECT SLEEP(5) AS s, 'kc_plain' AS m").timeout(300, { cancel: true }).then(() => undefined, (e: unknown) => e)) as Error
    expect(err.name).not.toBe('KnexTimeoutError')
    expect(err.message).toMatch(/cancelling of query failed/)
    await k.destroy()
  })

  it('knexOnLifespan with an unknown alias throws ERR_LIFESPAN_UNKNOWN_ALIAS', () => {
    const lifespan = lifespanFor()
    expect(() => knexOnLifespan(lifespan, 'nope')).toThrow(expect.objectContaining({ code: 'ERR_LIFESPAN_UNKNOWN_ALIAS' }))
  })
})
