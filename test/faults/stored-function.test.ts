/**
 * A SELECT that calls a stored function is not a plain read: the function may write. The reply of
 * such a SELECT is cut by the fault proxy after the server ran it; the library must not run it
 * again. Marked `idempotent: true`, the same SELECT is re-run, and the write is doubled: that is
 * what the default guards against.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js'
import { admin, lifespanFor, mysqlUrl, tableName } from '../support/env.js'

let proxy: FaultProxy
let viaProxy: string
const table = tableName('fn_calls')
const fn = tableName('fn_touch')

beforeAll(async () => {
  const target = new URL(mysqlUrl())
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 3306) })
  const u = new URL(mysqlUrl())
  u.hostname = proxy.host
  u.port = String(proxy.port)
  viaProxy = u.toString()
  await admin(`CREATE TABLE ${table} (id INT PRIMARY KEY AUTO_INCREMENT, tag VARCHAR(40)) ENGINE=InnoDB`)
  await admin(`CREATE FUNCTION ${fn}(t VARCHAR(40)) RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO ${table} (tag) VALUES (t); RETURN LAST_INSERT_ID(); END`)
})

afterAll(async () => {
  await proxy?.close()
  await admin(`DROP FUNCTION IF EXISTS ${fn}`)
  await admin(`DROP TABLE IF EXISTS ${table}`)
})

async function rows(tag: string): Promise<number> {
  const [r] = await admin<Array<{ c: number }>>(`SELECT COUNT(*) AS c FROM ${table} WHERE tag = ?`, [tag])
  return Number(r!.c)
}

describe('a SELECT calling a stored function', () => {
  // The second form: read as a string from the quote in "customer's" to the one in "don't", the call would be hidden.
  it.each([
    ['default', 'plain', (call: string) => `SELECT ${call} AS id`],
    ['commented', 'with a quote in a comment before the call', (call: string) => `SELECT -- the customer's next number\n ${call} AS id -- don't cache`],
  ])('is not re-run after its reply was cut (%s: %s): the caller gets the error and the row exists once', async (tag, _form, sqlOf) => {
    const lifespan = lifespanFor({ url: viaProxy })
    await lifespan.startup()
    const cut = proxy.cutNextResponse((sql) => sql.includes(`${fn}('${tag}')`))
    const err = await lifespan
      .db()
      .query(sqlOf(`${fn}('${tag}')`))
      .catch((e: unknown) => e)
    await cut
    expect(err).toMatchObject({ code: expect.stringMatching(/PROTOCOL_CONNECTION_LOST|ECONNRESET|EPIPE/) })
    expect(await rows(tag)).toBe(1)
    expect(lifespan.stats().aliases.default!.retries).toBe(0)
  })

  it('marked idempotent, it is re-run, and the write happens twice', async () => {
    const lifespan = lifespanFor({ url: viaProxy })
    await lifespan.startup()
    const cut = proxy.cutNextResponse((sql) => sql.includes(`${fn}('marked')`))
    await lifespan.db().query(`SELECT ${fn}('marked') AS id`, undefined, { idempotent: true })
    await cut
    expect(await rows('marked')).toBe(2)
    expect(lifespan.stats().aliases.default!.retries).toBe(1)
  })
})
