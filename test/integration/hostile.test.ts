/**
 * Hostile and bad input: each case must end in a clear, coded error or a working call;
 * never a crash, a hang past the configured timeout, or a printed password.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLifespan } from '../../src/index.js'
import { type DisposableServer, startDisposableServer } from '../support/disposable-server.js'
import { lifespanFor, mysqlUrl, sleep } from '../support/env.js'

let server: DisposableServer

beforeAll(async () => {
  server = await startDisposableServer({ maxConnections: 10 }) // MariaDB's minimum
  await server.query("CREATE USER 'app'@'%' IDENTIFIED BY 'app'")
  await server.query("GRANT ALL ON test.* TO 'app'@'%'")
  await server.query("CREATE USER 'nopriv'@'%' IDENTIFIED BY 'nopriv'")
  await server.query("CREATE USER 'special'@'%' IDENTIFIED BY 'p@ss:w/rd?#%&é'")
  await server.query("GRANT SELECT ON test.* TO 'special'@'%'")
})

afterAll(async () => {
  await server?.stop()
})

const as = (user: string, password: string, database = 'test'): string =>
  `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${database}`

describe('hostile input', () => {
  it('bad options start nothing: no connection is attempted', async () => {
    const before = await server.connectionIds()
    expect(() => createLifespan({ databases: { default: server.url }, acquireTimeoutMs: -5 })).toThrowError(/acquireTimeoutMs/)
    expect(() => createLifespan({ databases: { default: server.url, bad: 'mysql://h/db?connectionLimit=0' } })).toThrowError(/databases\.bad\.connectionLimit/)
    await sleep(100)
    expect(await server.connectionIds()).toEqual(before)
  })

  it('misuse of the API gets coded errors', async () => {
    const lifespan = lifespanFor()
    await expect(lifespan.scope('not a function' as never)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_INVALID_ARGUMENT' })
    expect(() => lifespan.task(42 as never)).toThrowError(expect.objectContaining({ code: 'ERR_LIFESPAN_INVALID_ARGUMENT' }))
    expect(() => lifespan.db(7 as never)).toThrowError(expect.objectContaining({ code: 'ERR_LIFESPAN_UNKNOWN_ALIAS' }))
    await expect(lifespan.db().execute('SELECT ?', [undefined])).rejects.toMatchObject({ code: 'ERR_LIFESPAN_INVALID_ARGUMENT' })
    await expect(lifespan.db().query(undefined as never)).rejects.toMatchObject({ code: expect.any(String) })
    await expect(lifespan.db().transaction(async () => {}, { retries: -1 })).rejects.toMatchObject({ code: 'ERR_LIFESPAN_INVALID_OPTION' })
    await expect(lifespan.db().transaction(async () => {}, { isolationLevel: 'CHAOS' as never })).rejects.toMatchObject({ code: 'ERR_LIFESPAN_INVALID_OPTION' })
    await expect(lifespan.shutdown({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'ERR_LIFESPAN_INVALID_OPTION' })
    // the lifespan still works after all that
    await expect(lifespan.db().query('SELECT 1')).resolves.toBeDefined()
  })

  it('a nested transaction on another alias is independent and works', async () => {
    const lifespan = lifespanFor({ databases: { default: mysqlUrl(), other: mysqlUrl() } })
    const result = await lifespan.scope(() =>
      lifespan.db().transaction(async (tx) => {
        const [a] = await tx.query<Array<{ v: number }>>('SELECT 1 AS v')
        const b = await lifespan.db('other').transaction(async (tx2) => (await tx2.query<Array<{ v: number }>>('SELECT 2 AS v'))[0][0]!.v)
        return a[0]!.v + b
      }),
    )
    expect(result).toBe(3)
  })

  it('a scope after destroy() is refused with a code', async () => {
    const lifespan = lifespanFor()
    await lifespan.startup()
    await lifespan.destroy()
    await expect(lifespan.scope(async () => 1)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_STOPPED' })
    await expect(lifespan.startup()).rejects.toMatchObject({ code: 'ERR_LIFESPAN_STOPPED' })
  })

  it('a server that accepts TCP but never answers the handshake: startup rejects within acquireTimeoutMs', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((s) => {
      sockets.add(s)
      s.on('error', () => {})
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as net.AddressInfo).port
    try {
      const lifespan = lifespanFor({ url: `mysql://root@127.0.0.1:${port}/test`, acquireTimeoutMs: 1_200 })
      const started = Date.now()
      const err = await lifespan.startup().catch((e: unknown) => e)
      expect(Date.now() - started).toBeLessThan(1_200 + 700)
      expect(err).toMatchObject({ code: 'ERR_LIFESPAN_ACQUIRE_TIMEOUT', cause: expect.objectContaining({ code: 'ETIMEDOUT' }) })
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })

  it('"Too many connections" (1040) at connect is retried until a slot frees, or times out with 1040 as the cause', async () => {
    // max_connections=10: take them all with the unprivileged user (root would get the extra SUPER slot).
    const hog = createLifespan({ databases: { default: `${as('app', 'app')}?connectionLimit=10` } })
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    const holding = Promise.all(Array.from({ length: 10 }, () => hog.scope(async () => {
      await hog.db().query('SELECT 1')
      await held
    })))
    await sleep(300)
    expect(hog.stats().aliases.default!.inUse).toBe(10)
    try {
      const lifespan = lifespanFor({ url: as('app', 'app'), acquireTimeoutMs: 800 })
      const err = await lifespan.startup().catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'ERR_LIFESPAN_ACQUIRE_TIMEOUT', cause: expect.objectContaining({ errno: 1040 }) })

      const patient = lifespanFor({ url: as('app', 'app'), acquireTimeoutMs: 5_000 })
      setTimeout(() => {
        release()
        void holding.then(() => hog.shutdown())
      }, 500)
      await expect(patient.db().query('SELECT 1')).resolves.toBeDefined()
    } finally {
      release()
      await holding
      await hog.shutdown()
    }
  })

  it('a user without privileges: rejected at once with mysql2\'s own error', async () => {
    const lifespan = lifespanFor({ url: as('nopriv', 'nopriv'), acquireTimeoutMs: 5_000 })
    const started = Date.now()
    const err = await lifespan.startup().catch((e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(1_000) // not retried: a retry cannot fix it
    expect(err).toMatchObject({ code: 'ER_DBACCESS_DENIED_ERROR', errno: 1044 })
  })

  it('a password with special characters, percent-encoded in the URI, works and is never printed', async () => {
    const lifespan = lifespanFor({ url: as('special', 'p@ss:w/rd?#%&é') })
    const [rows] = await lifespan.db().query<Array<{ u: string }>>('SELECT CURRENT_USER() AS u')
    expect(rows[0]!.u).toMatch(/^special@/)
    expect(JSON.stringify(lifespan.stats())).not.toContain('p@ss')
  })

  it('TLS options are passed through to mysql2', async () => {
    // The disposable server has no TLS: mysql2 refusing proves it received the ssl option.
    const lifespan = lifespanFor({ url: `${as('app', 'app')}?ssl=${encodeURIComponent('{"rejectUnauthorized":false}')}`, acquireTimeoutMs: 2_000 })
    const err = await lifespan.startup().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'HANDSHAKE_NO_SSL_SUPPORT' })
  })

  it('thousands of waiting scopes each get a timeout error; the process stays healthy', async () => {
    const lifespan = lifespanFor({ url: `${as('app', 'app')}?connectionLimit=2`, acquireTimeoutMs: 400 })
    // Held well past every waiter's deadline, even on a loaded machine.
    const holders = [1, 2].map(() => lifespan.scope(() => lifespan.db().query('SELECT SLEEP(3)')))
    await sleep(100)
    const started = Date.now()
    const waiting = await Promise.allSettled(Array.from({ length: 3_000 }, () => lifespan.scope(() => lifespan.db().query('SELECT 1'))))
    expect(Date.now() - started).toBeLessThan(3_000)
    const codes = new Set(waiting.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok')))
    expect([...codes]).toEqual(['ERR_LIFESPAN_ACQUIRE_TIMEOUT'])
    await Promise.all(holders)
    await expect(lifespan.db().query('SELECT 1')).resolves.toBeDefined()
    expect(lifespan.stats().aliases.default).toMatchObject({ waiting: 0, inUse: 0 })
    expect(lifespan.stats().aliases.default!.open).toBeLessThanOrEqual(2)
  })
})

describe('leak detection', () => {
  it('warns with the scope\'s creation stack when a connection is held past leakWarningMs', async () => {
    const warnings: Array<{ obj: Record<string, unknown>; msg?: string }> = []
    const lifespan = lifespanFor({ leakWarningMs: 100, logger: { warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) } })
    await lifespan.scope(async () => {
      await lifespan.db().query('SELECT 1')
      await sleep(250)
    })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.msg).toMatch(/possible leak/)
    expect(String(warnings[0]!.obj.stack)).toContain('hostile.test.ts')
    // a short scope does not warn
    await lifespan.scope(() => lifespan.db().query('SELECT 1'))
    await sleep(150)
    expect(warnings).toHaveLength(1)
  })

  it('is off by default', async () => {
    const warnings: unknown[] = []
    const lifespan = lifespanFor({ logger: { warn: (obj) => warnings.push(obj) } })
    await lifespan.scope(async () => {
      await lifespan.db().query('SELECT 1')
      await sleep(150)
    })
    expect(warnings).toHaveLength(0)
  })
})
