/**
 * A transaction a scope opens with SQL through `db()` stays the scope's when a tool's statement
 * runs in the same scope: the tool's statement runs inside it, and the tool does not take the
 * connection over. Before, the facade adopted any transaction it found open after its statement:
 * the scope's next `db()` INSERT autocommitted on a fresh connection (its ROLLBACK did not undo it),
 * and another request's write through the same facade ran inside the scope's transaction and was
 * rolled back with it after being acknowledged.
 */
import { describe, expect, it } from 'vitest'
import { admin, lifespanFor, tableName } from '../support/env.js'

describe('a transaction opened with SQL through db(), and a tool statement in the same scope', () => {
  it('the scope keeps its transaction: its ROLLBACK undoes its INSERT, and another request\'s acknowledged write stays', async () => {
    const t = tableName('o_scope_tx')
    await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, who VARCHAR(10) NOT NULL) ENGINE=InnoDB`)
    const lifespan = lifespanFor()
    const pool = lifespan.pool().promise()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let inserted!: () => void
    const aInserted = new Promise<void>((resolve) => (inserted = resolve))
    const a = lifespan.scope(async () => {
      await lifespan.db().query('START TRANSACTION')
      await pool.query('SELECT 1 AS one') // the tool, inside the scope's transaction
      await lifespan.db().query(`INSERT INTO ${t} (who) VALUES ('A')`)
      inserted()
      await gate
      await lifespan.db().query('ROLLBACK')
    })
    await aInserted
    const [b] = await lifespan.scope(() => pool.query(`INSERT INTO ${t} (who) VALUES ('B')`))
    expect((b as { affectedRows: number }).affectedRows).toBe(1)
    release()
    await a
    const rows = await admin<Array<{ who: string }>>(`SELECT who FROM ${t} ORDER BY id`)
    expect(rows.map((r) => r.who)).toEqual(['B'])
  })

  it('a transaction opened through the pool\'s own query() is the calling scope\'s alone: another scope\'s write through the same pool is not drawn into it', async () => {
    const t = tableName('o_pool_tx')
    await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, who VARCHAR(10) NOT NULL) ENGINE=InnoDB`)
    const lifespan = lifespanFor()
    const pool = lifespan.pool().promise()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let inserted!: () => void
    const aInserted = new Promise<void>((resolve) => (inserted = resolve))
    const a = lifespan.scope(async () => {
      await pool.query('START TRANSACTION')
      await pool.query(`INSERT INTO ${t} (who) VALUES ('A')`)
      inserted()
      await gate
      await pool.query('ROLLBACK')
    })
    await aInserted
    // Before, the pool's one shared facade connection was pinned to A's transaction: B's write ran
    // inside it, was acknowledged, and was rolled back with it.
    const [b] = await lifespan.scope(() => pool.query(`INSERT INTO ${t} (who) VALUES ('B')`))
    expect((b as { affectedRows: number }).affectedRows).toBe(1)
    release()
    await a
    const rows = await admin<Array<{ who: string }>>(`SELECT who FROM ${t} ORDER BY id`)
    expect(rows.map((r) => r.who)).toEqual(['B'])
  })
})
