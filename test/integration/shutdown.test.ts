import { describe, expect, it } from 'vitest'
import { startFaultProxy } from '../support/fault-proxy.js'
import { admin, connectedAfter, lifespanFor, mysqlUrl, runningAfter, sleep, tableName } from '../support/env.js'

type IdRow = { id: number }

describe('shutdown', () => {
  it('refuses new scopes in the same tick it is called', async () => {
    const lifespan = lifespanFor()
    await lifespan.startup()
    const stopping = lifespan.shutdown()
    expect(lifespan.state).toBe('stopping')
    await expect(lifespan.scope(async () => 1)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_SHUTTING_DOWN' })
    await stopping
    expect(lifespan.state).toBe('stopped')
    await expect(lifespan.scope(async () => 1)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_STOPPED' })
    await expect(lifespan.db().query('SELECT 1')).rejects.toMatchObject({ code: 'ERR_LIFESPAN_STOPPED' })
  })

  it('drains scopes in flight, then closes every connection', async () => {
    const lifespan = lifespanFor()
    let threadId = 0
    const inFlight = lifespan.scope(async () => {
      const [rows] = await lifespan.db().query<IdRow[]>('SELECT CONNECTION_ID() AS id')
      threadId = Number(rows[0]!.id)
      await lifespan.db().query('SELECT SLEEP(0.3)')
      return 'finished'
    })
    // Shutdown begins once the scope is admitted and working (its first statement answered), not
    // after a fixed sleep: on a loaded machine the lifespan's start-up may take longer than one.
    while (threadId === 0) await sleep(5)
    const report = await lifespan.shutdown({ timeoutMs: 5_000 })
    await expect(inFlight).resolves.toBe('finished')
    expect(report).toMatchObject({ clean: true, interrupted: 0 })
    expect(report.durationMs).toBeGreaterThanOrEqual(200)
    expect(await connectedAfter([threadId], 2_000)).toEqual([])
  })

  it('interrupts scopes past the deadline and kills their statements server-side', async () => {
    const lifespan = lifespanFor()
    let threadId = 0
    const stuck = lifespan.scope(async () => {
      const [rows] = await lifespan.db().query<IdRow[]>('SELECT CONNECTION_ID() AS id')
      threadId = Number(rows[0]!.id)
      await lifespan.db().query('SELECT SLEEP(30)')
    })
    stuck.catch(() => {})
    await sleep(100)
    const started = Date.now()
    const report = await lifespan.shutdown({ timeoutMs: 300 })
    expect(Date.now() - started).toBeLessThan(3_000)
    await expect(stuck).rejects.toMatchObject({ code: 'ERR_LIFESPAN_SCOPE_INTERRUPTED' })
    expect(report).toMatchObject({ clean: false, interrupted: 1 })
    expect(lifespan.state).toBe('stopped')
    // KILL CONNECTION stopped the SLEEP; destroy() alone would leave it running for 30 s.
    expect(await connectedAfter([threadId], 2_000)).toEqual([])
  })

  it('every statement in flight at the deadline settles: inside a scope (its finally runs), outside any scope, and through the pool facade, streamed or not', async () => {
    const lifespan = lifespanFor()
    const settled = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (e: unknown) => (e as { code?: unknown }).code)
    let innerFinally = false
    let inner: Promise<unknown> | undefined
    const scoped = lifespan.scope(async () => {
      inner = settled(lifespan.db().query('SELECT SLEEP(30) AS a'))
      try {
        await inner
      } finally {
        innerFinally = true
      }
    })
    scoped.catch(() => {})
    const outside = settled(lifespan.db().query('SELECT SLEEP(30) AS b'))
    const facade = settled(lifespan.pool().promise().query('SELECT SLEEP(30) AS c'))
    const streamed = new Promise<unknown>((resolve) => {
      const rows = lifespan.pool().query('SELECT SLEEP(30) AS d').stream()
      rows.on('error', (e: { code?: unknown }) => resolve(e.code))
      rows.on('end', () => resolve('ended'))
      rows.resume()
    })
    while ((await runningAfter('SLEEP(30) AS', 0)) < 4) await sleep(20)
    await lifespan.shutdown({ timeoutMs: 300 })
    // mysql2 calls back nothing on a connection it was told to destroy, and tells a streamed statement
    // nothing when its connection dies: before the library handed these statements an error, all four
    // stayed pending for good (the scope itself rejected).
    const within = <T>(p: Promise<T>): Promise<T | 'pending'> => Promise.race([p, sleep(3_000).then(() => 'pending' as const)])
    expect(await within(Promise.all([inner!, outside, facade, streamed]))).toEqual([
      'ERR_LIFESPAN_SCOPE_INTERRUPTED',
      'ERR_LIFESPAN_SCOPE_INTERRUPTED',
      'ERR_LIFESPAN_SCOPE_INTERRUPTED',
      'ERR_LIFESPAN_SCOPE_INTERRUPTED',
    ])
    expect(innerFinally).toBe(true)
    await expect(scoped).rejects.toMatchObject({ code: 'ERR_LIFESPAN_SCOPE_INTERRUPTED' })
  })

  it('a COMMIT in flight at the deadline rejects with COMMIT_OUTCOME_UNKNOWN, sent as SQL or by transaction()', async () => {
    const target = new URL(mysqlUrl())
    const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 3306) })
    const t = tableName('sd_commit')
    await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB`)
    try {
      const lifespan = lifespanFor({ url: proxy.url() })
      // Each COMMIT's connection goes silent: the COMMIT is still in flight at the deadline.
      const held = [proxy.holdNext((sql) => /^commit/i.test(sql)), proxy.holdNext((sql) => /^commit/i.test(sql))]
      const codeOf = (e: unknown): unknown => (e as { code?: unknown }).code
      let sqlCommit: Promise<unknown> | undefined
      let apiCommit: Promise<unknown> | undefined
      const asSql = lifespan.scope(async () => {
        await lifespan.db().query('BEGIN')
        await lifespan.db().query(`INSERT INTO ${t} (v) VALUES ('sql')`)
        sqlCommit = lifespan.db().query('COMMIT').then(() => 'committed', codeOf)
        await sqlCommit
      })
      const byApi = lifespan.scope(async () => {
        apiCommit = lifespan.db().transaction((tx) => tx.query(`INSERT INTO ${t} (v) VALUES ('api')`)).then(() => 'committed', codeOf)
        await apiCommit
      })
      asSql.catch(() => {})
      byApi.catch(() => {})
      await Promise.all(held)
      await lifespan.shutdown({ timeoutMs: 300 })
      // Whether the server got the COMMIT is not known to the client: not "nothing was committed".
      // (Before the in-flight fix, neither COMMIT settled at all.)
      expect(await Promise.all([sqlCommit, apiCommit])).toEqual(['ERR_LIFESPAN_COMMIT_OUTCOME_UNKNOWN', 'ERR_LIFESPAN_COMMIT_OUTCOME_UNKNOWN'])
    } finally {
      await proxy.close()
      await admin(`DROP TABLE IF EXISTS ${t}`)
    }
  })

  it('an alias with hosts: a statement past the deadline is killed on the host that ran it', async () => {
    const server = new URL(mysqlUrl())
    const lifespan = lifespanFor({
      databases: { default: { user: decodeURIComponent(server.username), password: decodeURIComponent(server.password), database: 'test', hosts: [`${server.hostname}:${server.port || 3306}`] } },
    })
    const stuck = lifespan.scope(() => lifespan.db().query('SELECT SLEEP(30) AS s /* topology-deadline */'))
    stuck.catch(() => {})
    while ((await runningAfter('topology-deadline', 0)) < 1) await sleep(20)
    const report = await lifespan.shutdown({ timeoutMs: 300 })
    await expect(stuck).rejects.toMatchObject({ code: 'ERR_LIFESPAN_SCOPE_INTERRUPTED' })
    // The ids are read before the scopes are interrupted (which takes the connections back); the
    // topology used to look for them among the connections still leased by then, found none, and
    // sent no KILL: SLEEP(30) went on on the server.
    expect(report).toMatchObject({ interrupted: 1, killed: 1 })
    expect(await runningAfter('topology-deadline', 2_000)).toBe(0)
  })

  it('is idempotent and joinable', async () => {
    const lifespan = lifespanFor()
    await lifespan.startup()
    const a = lifespan.shutdown()
    const b = lifespan.shutdown()
    expect(a).toBe(b)
    await a
    await expect(lifespan.shutdown()).resolves.toEqual(await a)
  })

  it('runs hooks in startup and shutdown scopes; shutdown hooks may still use the database', async () => {
    const lifespan = lifespanFor()
    const seen: string[] = []
    lifespan.onStartup(async () => {
      seen.push(`startup:${lifespan.currentScope()?.kind}`)
      await lifespan.db().query('SELECT 1')
    })
    lifespan.onShutdown(async () => {
      seen.push(`shutdown-a:${lifespan.currentScope()?.kind}`)
    })
    lifespan.onShutdown(async () => {
      const [rows] = await lifespan.db().query<Array<{ v: number }>>('SELECT 42 AS v')
      seen.push(`shutdown-b:${rows[0]!.v}`)
    })
    await lifespan.startup()
    expect(() => lifespan.onStartup(() => {})).toThrowError(expect.objectContaining({ code: 'ERR_LIFESPAN_INVALID_STATE' }))
    await lifespan.shutdown()
    expect(seen).toEqual(['startup:startup', 'shutdown-b:42', 'shutdown-a:shutdown'])
  })

  it('still stops when a hook fails, and reports it', async () => {
    const lifespan = lifespanFor()
    lifespan.onShutdown(() => {
      throw new Error('flush failed')
    })
    await lifespan.startup()
    await expect(lifespan.shutdown()).rejects.toMatchObject({ code: 'ERR_LIFESPAN_HOOK_FAILED', errors: [expect.objectContaining({ message: 'flush failed' })] })
    expect(lifespan.state).toBe('stopped')
    expect(lifespan.stats().aliases.default!.open).toBe(0)
  })

  it('rejects startup when a startup hook fails, and can be retried', async () => {
    const lifespan = lifespanFor()
    let fail = true
    lifespan.onStartup(() => {
      if (fail) throw new Error('warm-up failed')
    })
    await expect(lifespan.startup()).rejects.toMatchObject({ code: 'ERR_LIFESPAN_HOOK_FAILED' })
    expect(lifespan.state).toBe('created')
    fail = false
    await lifespan.startup()
    expect(lifespan.state).toBe('running')
  })

  it('called from inside a scope, does not wait for that scope', async () => {
    const lifespan = lifespanFor()
    const result = await lifespan.scope(async () => {
      await lifespan.db().query('SELECT 1')
      const report = await lifespan.shutdown({ timeoutMs: 5_000 })
      return report.interrupted
    })
    expect(result).toBe(0)
    expect(lifespan.state).toBe('stopped')
  })

  it('destroy() interrupts scopes at once and closes every socket', async () => {
    const lifespan = lifespanFor()
    const stuck = lifespan.scope(() => lifespan.db().query('SELECT SLEEP(5)'))
    stuck.catch(() => {})
    await sleep(100)
    await lifespan.destroy()
    await expect(stuck).rejects.toMatchObject({ code: 'ERR_LIFESPAN_STOPPED' })
    expect(lifespan.state).toBe('stopped')
    expect(lifespan.stats().aliases.default!.open).toBe(0)
    await lifespan.destroy() // idempotent
  })

  it('leaves nothing open server-side after a shutdown with a busy pool', async () => {
    const lifespan = lifespanFor({ databases: { default: `${(await import('../support/env.js')).mysqlUrl()}?connectionLimit=4` } })
    const ids = new Set<number>()
    await Promise.all(
      Array.from({ length: 8 }, () =>
        lifespan.scope(async () => {
          const [rows] = await lifespan.db().query<IdRow[]>('SELECT CONNECTION_ID() AS id')
          ids.add(Number(rows[0]!.id))
          await lifespan.db().query('SELECT SLEEP(0.05)')
        }),
      ),
    )
    expect(ids.size).toBeLessThanOrEqual(4) // the pool limit bounds the connections
    await lifespan.shutdown()
    expect(await connectedAfter(ids, 2_000)).toEqual([])
  })
})
