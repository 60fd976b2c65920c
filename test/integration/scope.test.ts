import { describe, expect, it } from 'vitest'
import { admin, lifespanFor, mysqlUrl, sleep, tableName } from '../support/env.js'

type IdRow = { id: number }
const connectionId = async (lifespan: ReturnType<typeof lifespanFor>, alias?: string): Promise<number> => {
  const [rows] = await lifespan.db(alias).query<IdRow[]>('SELECT CONNECTION_ID() AS id')
  return Number(rows[0]!.id)
}

describe('scopes', () => {
  it('lease one connection per scope, shared by concurrent statements, released at the end', async () => {
    const lifespan = lifespanFor()
    await lifespan.startup()
    const ids = await lifespan.scope(async () => {
      expect(lifespan.stats().aliases.default!.inUse).toBe(0) // lazily: nothing leased yet
      const all = await Promise.all([connectionId(lifespan), connectionId(lifespan), connectionId(lifespan)])
      expect(lifespan.stats().aliases.default!.inUse).toBe(1)
      return all
    })
    expect(new Set(ids).size).toBe(1)
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
    expect(lifespan.stats().activeScopes).toBe(0)
  })

  it('give concurrent scopes distinct connections and ids', async () => {
    const lifespan = lifespanFor()
    const seen = await Promise.all(
      [1, 2, 3].map(() =>
        lifespan.scope(async () => {
          const id = await connectionId(lifespan)
          await sleep(50)
          return { id, scope: lifespan.currentScope()!.id }
        }),
      ),
    )
    expect(new Set(seen.map((s) => s.id)).size).toBe(3)
    expect(new Set(seen.map((s) => s.scope)).size).toBe(3)
  })

  it('start the lifespan lazily, report kind and id, and join a parent scope when nested', async () => {
    const lifespan = lifespanFor()
    expect(lifespan.state).toBe('created')
    expect(lifespan.currentScope()).toBeUndefined()
    await lifespan.scope(async () => {
      expect(lifespan.state).toBe('running')
      const outer = lifespan.currentScope()!
      expect(outer.kind).toBe('task')
      const outerConn = await connectionId(lifespan)
      await lifespan.scope(async () => {
        expect(lifespan.currentScope()!.id).toBe(outer.id)
        expect(await connectionId(lifespan)).toBe(outerConn)
      })
    })
  })

  it('open a scope of its own inside another with nested: \'new\'', async () => {
    const lifespan = lifespanFor()
    await lifespan.scope(async () => {
      const outer = lifespan.currentScope()!.id
      const outerConn = await connectionId(lifespan)
      const inner = await lifespan.scope(async () => ({ id: lifespan.currentScope()!.id, conn: await connectionId(lifespan) }), { nested: 'new' })
      expect(inner.id).not.toBe(outer)
      expect(inner.conn).not.toBe(outerConn)
      expect(lifespan.currentScope()!.id).toBe(outer)
    })
  })

  it('run each call of a task() in its own scope', async () => {
    const lifespan = lifespanFor()
    const handle = lifespan.task(async (n: number) => ({ n, scope: lifespan.currentScope()?.id }))
    const [a, b] = await Promise.all([handle(1), handle(2)])
    expect(a!.n).toBe(1)
    expect(a!.scope).toBeDefined()
    expect(a!.scope).not.toBe(b!.scope)
  })

  it('run db() outside a scope in an implicit one-statement scope', async () => {
    const lifespan = lifespanFor()
    const [rows] = await lifespan.db().query<Array<{ two: number }>>('SELECT 1 + 1 AS two')
    expect(rows[0]!.two).toBe(2)
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
    expect(lifespan.stats().activeScopes).toBe(0)
  })

  it('keep mysql2 result shapes and pass mysql2 errors through unchanged', async () => {
    const lifespan = lifespanFor()
    const [rows, fields] = await lifespan.db().execute<Array<{ v: number }>>('SELECT ? AS v', [7])
    expect(rows).toEqual([{ v: 7 }])
    expect(fields[0]!.name).toBe('v')
    const err = await lifespan.db().query('SELEC 1').catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ER_PARSE_ERROR', errno: 1064, sqlState: '42000' })
    expect(err).not.toHaveProperty('cause')
  })

  it('validate on entry: ping after the alive-bypass window, trust a connection used moments ago', async () => {
    const lifespan = lifespanFor({ aliveBypassMs: 100 })
    await lifespan.startup()
    await lifespan.scope(() => lifespan.db().query('SELECT 1'))
    const before = lifespan.stats().aliases.default!.pings
    await lifespan.scope(() => lifespan.db().query('SELECT 1'))
    expect(lifespan.stats().aliases.default!.pings).toBe(before)
    await sleep(150)
    await lifespan.scope(() => lifespan.db().query('SELECT 1'))
    expect(lifespan.stats().aliases.default!.pings).toBe(before + 1)
  })

  it('replace a connection past its max age', async () => {
    const lifespan = lifespanFor({ maxAgeMs: 200 })
    const first = await lifespan.scope(() => connectionId(lifespan))
    await sleep(250)
    const second = await lifespan.scope(() => connectionId(lifespan))
    expect(second).not.toBe(first)
    expect(lifespan.stats().aliases.default!.destroyed.maxAge).toBeGreaterThanOrEqual(1)
  })

  it('work with several aliases in one scope', async () => {
    const lifespan = lifespanFor({ databases: { default: mysqlUrl(), replica: mysqlUrl() } })
    const [a, b] = await lifespan.scope(async () => [await connectionId(lifespan), await connectionId(lifespan, 'replica')])
    expect(a).not.toBe(b)
    expect(Object.keys(lifespan.stats().aliases)).toEqual(['default', 'replica'])
  })
})

describe('transactions', () => {
  it('commit, roll back, and route db() inside the callback to the transaction', async () => {
    const lifespan = lifespanFor()
    const t = tableName('tx')
    await admin(`CREATE TABLE ${t} (id INT PRIMARY KEY, n INT) ENGINE=InnoDB`)
    try {
      await lifespan.scope(async () => {
        const db = lifespan.db()
        const outer = await connectionId(lifespan)
        await db.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${t} VALUES (1, 1)`)
          // db() in the transaction's context goes to the same connection and sees the row.
          const [rows] = await db.query<Array<{ c: number }>>(`SELECT COUNT(*) AS c FROM ${t}`)
          expect(Number(rows[0]!.c)).toBe(1)
          expect(await connectionId(lifespan)).toBe(outer)
        })
        await db
          .transaction(async (tx) => {
            await tx.query(`INSERT INTO ${t} VALUES (2, 2)`)
            throw new Error('changed my mind')
          })
          .catch((e: Error) => expect(e.message).toBe('changed my mind'))
      })
      const rows = await admin<Array<{ id: number }>>(`SELECT id FROM ${t} ORDER BY id`)
      expect(rows.map((r) => r.id)).toEqual([1])
    } finally {
      await admin(`DROP TABLE ${t}`)
    }
  })

  it('make other statements of the scope wait for the transaction instead of joining it', async () => {
    const lifespan = lifespanFor()
    const t = tableName('txwait')
    await admin(`CREATE TABLE ${t} (id INT PRIMARY KEY) ENGINE=InnoDB`)
    try {
      await lifespan.scope(async () => {
        const db = lifespan.db()
        let release!: () => void
        const gate = new Promise<void>((r) => (release = r))
        const tx = db.transaction(async (h) => {
          await h.query(`INSERT INTO ${t} VALUES (1)`)
          await gate
          throw new Error('roll back')
        })
        await sleep(20)
        // Outside the transaction's context: must not run inside it.
        const outside = db.query(`INSERT INTO ${t} VALUES (2)`)
        release()
        await expect(tx).rejects.toThrow('roll back')
        await outside
      })
      const rows = await admin<Array<{ id: number }>>(`SELECT id FROM ${t}`)
      expect(rows.map((r) => r.id)).toEqual([2])
    } finally {
      await admin(`DROP TABLE ${t}`)
    }
  })

  it('refuse a handle used after the end and a nested transaction on the same alias', async () => {
    const lifespan = lifespanFor()
    await lifespan.scope(async () => {
      let kept: { query: (sql: string) => Promise<unknown> } | undefined
      await lifespan.db().transaction(async (tx) => {
        kept = tx
        await expect(lifespan.db().transaction(async () => {})).rejects.toMatchObject({ code: 'ERR_LIFESPAN_NESTED_TRANSACTION' })
      })
      await expect(kept!.query('SELECT 1')).rejects.toMatchObject({ code: 'ERR_LIFESPAN_TRANSACTION_CLOSED' })
    })
  })

  it('re-run the whole transaction after a deadlock when retries allow', async () => {
    const lifespan = lifespanFor()
    const t = tableName('dead')
    await admin(`CREATE TABLE ${t} (id INT PRIMARY KEY, n INT) ENGINE=InnoDB`)
    await admin(`INSERT INTO ${t} VALUES (1, 0), (2, 0)`)
    try {
      let attempts = 0
      const both = (first: number, second: number): Promise<void> =>
        lifespan.scope(() =>
          lifespan.db().transaction(
            async (tx) => {
              attempts++
              await tx.query(`UPDATE ${t} SET n = n + 1 WHERE id = ?`, [first])
              await sleep(100)
              await tx.query(`UPDATE ${t} SET n = n + 1 WHERE id = ?`, [second])
            },
            { retries: 3 },
          ),
        )
      await Promise.all([both(1, 2), both(2, 1)])
      expect(attempts).toBeGreaterThanOrEqual(3) // one of the two was chosen as the deadlock victim
      const rows = await admin<Array<{ n: number }>>(`SELECT n FROM ${t} ORDER BY id`)
      expect(rows.map((r) => r.n)).toEqual([2, 2]) // each transaction applied exactly once
      expect(lifespan.stats().aliases.default!.retries).toBeGreaterThanOrEqual(1)
    } finally {
      await admin(`DROP TABLE ${t}`)
    }
  })

  it('surface a deadlock when retries is 0 (the default)', async () => {
    const lifespan = lifespanFor()
    const t = tableName('dead0')
    await admin(`CREATE TABLE ${t} (id INT PRIMARY KEY, n INT) ENGINE=InnoDB`)
    await admin(`INSERT INTO ${t} VALUES (1, 0), (2, 0)`)
    try {
      const both = (first: number, second: number): Promise<unknown> =>
        lifespan
          .scope(() =>
            lifespan.db().transaction(async (tx) => {
              await tx.query(`UPDATE ${t} SET n = n + 1 WHERE id = ?`, [first])
              await sleep(100)
              await tx.query(`UPDATE ${t} SET n = n + 1 WHERE id = ?`, [second])
            }),
          )
          .then(() => 'ok', (e: unknown) => e)
      const results = await Promise.all([both(1, 2), both(2, 1)])
      expect(results).toContainEqual(expect.objectContaining({ code: 'ER_LOCK_DEADLOCK', errno: 1213 }))
      expect(results).toContain('ok')
    } finally {
      await admin(`DROP TABLE ${t}`)
    }
  })

  it('roll back and re-run after a lock-wait timeout', async () => {
    const lifespan = lifespanFor()
    const t = tableName('lockwait')
    await admin(`CREATE TABLE ${t} (id INT PRIMARY KEY, n INT) ENGINE=InnoDB`)
    await admin(`INSERT INTO ${t} VALUES (1, 0)`)
    try {
      let attempts = 0
      let unblock!: () => void
      const blocked = new Promise<void>((r) => (unblock = r))
      const holder = lifespan.scope(() =>
        lifespan.db().transaction(async (tx) => {
          await tx.query(`UPDATE ${t} SET n = n + 10 WHERE id = 1`)
          await blocked
        }),
      )
      await sleep(50)
      const waiter = lifespan.scope(() =>
        lifespan.db().transaction(
          async (tx) => {
            attempts++
            await tx.query('SET SESSION innodb_lock_wait_timeout = 1')
            if (attempts === 2) unblock()
            await tx.query(`UPDATE ${t} SET n = n + 1 WHERE id = 1`)
          },
          { retries: 2 },
        ),
      )
      await Promise.all([holder, waiter])
      expect(attempts).toBe(2)
      const rows = await admin<Array<{ n: number }>>(`SELECT n FROM ${t}`)
      expect(rows[0]!.n).toBe(11)
    } finally {
      await admin(`DROP TABLE ${t}`)
    }
  })
})

describe('work a scope did not await', () => {
  it('keeps the connection until the last statement finishes, then releases it', async () => {
    const lifespan = lifespanFor()
    let late!: Promise<unknown>
    await lifespan.scope(async () => {
      await lifespan.db().query('SELECT 1')
      late = lifespan.db().query('SELECT SLEEP(0.2) AS s') // fire and forget
    })
    expect(lifespan.stats().activeScopes).toBe(0)
    expect(lifespan.stats().aliases.default!.inUse).toBe(1) // still running on it
    await late
    await sleep(10)
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
  })

  it('runs statements made after the scope ended in a scope of their own, and releases it', async () => {
    const lifespan = lifespanFor()
    let gate!: () => void
    const opened = new Promise<void>((r) => (gate = r))
    let after!: Promise<unknown>
    await lifespan.scope(async () => {
      await lifespan.db().query('SELECT 1')
      after = opened.then(() => lifespan.db().query('SELECT 2 AS v'))
    })
    gate()
    const [rows] = (await after) as [Array<{ v: number }>]
    expect(rows[0]!.v).toBe(2)
    await sleep(10)
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
    expect(lifespan.stats().activeScopes).toBe(0)
  })
})
