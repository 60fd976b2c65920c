/**
 * A transaction a scope opens with SQL stays the scope's, whether it was opened through `db()` (a
 * tool statement then runs in the same scope) or through the pool facade's own `query()` (one
 * connection object for every scope at once). Before, the facade took such a transaction over: the
 * scope's next `db()` INSERT autocommitted on a fresh connection (its ROLLBACK did not undo it), and
 * another request's write through the same facade ran inside the scope's transaction and was rolled
 * back with it after being acknowledged.
 */
import { describe, expect, it } from 'vitest'
import type { Lifespan } from '../../src/index.js'
import { admin, lifespanFor, tableName } from '../support/env.js'

type Run = (sql: string) => Promise<unknown>

/**
 * Scope A opens a transaction with `open`, inserts 'A' with `insert`, waits while request B inserts
 * 'B' through the pool facade in a scope of its own, then rolls back. Returns the rows left.
 */
async function rolledBackBesideAnotherWrite(open: (lifespan: Lifespan, t: string) => Promise<void>, insert: (lifespan: Lifespan) => Run): Promise<string[]> {
  const t = tableName('o_scope_tx')
  await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, who VARCHAR(10) NOT NULL) ENGINE=InnoDB`)
  const lifespan = lifespanFor()
  const pool = lifespan.pool().promise()
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let inserted!: () => void
  const aInserted = new Promise<void>((resolve) => (inserted = resolve))
  const a = lifespan.scope(async () => {
    await open(lifespan, t)
    await insert(lifespan)(`INSERT INTO ${t} (who) VALUES ('A')`)
    inserted()
    await gate
    await insert(lifespan)('ROLLBACK')
  })
  await aInserted
  const [b] = await lifespan.scope(() => pool.query(`INSERT INTO ${t} (who) VALUES ('B')`))
  expect((b as { affectedRows: number }).affectedRows).toBe(1)
  release()
  await a
  return (await admin<Array<{ who: string }>>(`SELECT who FROM ${t} ORDER BY id`)).map((r) => r.who)
}

describe('a transaction a scope opens with SQL stays the scope\'s', () => {
  it('opened through db(), with a tool statement in the scope: its ROLLBACK undoes its INSERT, and another request\'s acknowledged write stays', async () => {
    const rows = await rolledBackBesideAnotherWrite(
      async (lifespan) => {
        await lifespan.db().query('START TRANSACTION')
        await lifespan.pool().promise().query('SELECT 1 AS one') // the tool, inside the scope's transaction
      },
      (lifespan) => (sql) => lifespan.db().query(sql),
    )
    expect(rows).toEqual(['B'])
  })

  it('opened through the pool\'s own query(): another scope\'s write through the same pool is not drawn into it', async () => {
    const rows = await rolledBackBesideAnotherWrite(
      async (lifespan) => {
        await lifespan.pool().promise().query('START TRANSACTION')
      },
      (lifespan) => (sql) => lifespan.pool().promise().query(sql),
    )
    expect(rows).toEqual(['B'])
  })
})
