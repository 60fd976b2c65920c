/**
 * A refusal is not a failover (errno 1290, 1792, 1836). On a disposable MariaDB started with
 * `--secure-file-priv` and the general log in a table, so every statement the server received can
 * be counted, and whose `read_only` the tests may switch (a non-SUPER user `app` is refused).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Lifespan } from '../../src/index.js'
import { READ_ONLY_PROBE } from '../../src/refusal.js'
import { type DisposableServer, startDisposableServer } from '../support/disposable-server.js'
import { lifespanFor, sleep, tableName } from '../support/env.js'

let server: DisposableServer
let fileDir: string
let appUrl: string

beforeAll(async () => {
  fileDir = await mkdtemp(join(tmpdir(), 'mysql-lifespan-files-'))
  server = await startDisposableServer({ extraArgs: [`--secure-file-priv=${fileDir}`, '--general-log=ON', '--log-output=TABLE'] })
  await server.query("CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw'")
  await server.query("GRANT ALL ON test.* TO 'app'@'%'")
  // FILE lets INTO OUTFILE reach the secure_file_priv check; no SUPER, so read_only refuses app.
  await server.query("GRANT FILE ON *.* TO 'app'@'%'")
  appUrl = server.url.replace('//root@', '//app:app-pw@')
})

afterAll(async () => {
  await server?.stop()
  if (fileDir) await rm(fileDir, { recursive: true, force: true })
})

/** How many times the server received a statement starting with `prefix` (from the general log). */
async function received(prefix: string): Promise<number> {
  const rows = (await server.query("SELECT COUNT(*) AS c FROM mysql.general_log WHERE command_type IN ('Query', 'Execute') AND argument LIKE ?", [
    `${prefix}%`,
  ])) as Array<{ c: number }>
  return Number(rows[0]!.c)
}

async function rowCount(table: string): Promise<number> {
  const rows = (await server.query(`SELECT COUNT(*) AS c FROM test.${table}`)) as Array<{ c: number }>
  return Number(rows[0]!.c)
}

/** A fresh InnoDB table on the disposable server. */
async function newTable(prefix: string): Promise<string> {
  const t = tableName(prefix)
  await server.query(`CREATE TABLE test.${t} (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20)) ENGINE=InnoDB`)
  return t
}

/**
 * Sends an INSERT while `on` holds on the server, waits until the server has refused it at least
 * once, runs `off`, then awaits the INSERT: a failover re-runs it on a fresh connection.
 */
/**
 * Makes the server read-only with `on`, sends an INSERT, and turns it back with `off` once the server
 * received the INSERT (and, with `until`, once that too holds: e.g. the read-only question was asked,
 * which must see the server still read-only).
 */
async function insertAcrossReadOnly(lifespan: Lifespan, table: string, on: string, off: string, until?: () => Promise<boolean>): Promise<void> {
  await server.query(on)
  let insert: Promise<unknown> | undefined
  try {
    insert = lifespan.db().query(`INSERT INTO ${table} (v) VALUES ('failover')`)
    insert.catch(() => {})
    while ((await received(`INSERT INTO ${table}`)) === 0) await sleep(10)
    if (until) while (!(await until())) await sleep(10)
  } finally {
    await server.query(off)
  }
  await insert
}

/** Starts the lifespan and returns its `created` count once its first connection is open. */
async function started(lifespan: Lifespan): Promise<number> {
  await lifespan.startup()
  return lifespan.stats().aliases.default!.created
}

function destroyedTotal(lifespan: Lifespan): number {
  return Object.values(lifespan.stats().aliases.default!.destroyed).reduce((a, b) => a + b, 0)
}

describe('a refusal is not a failover', () => {
  it('an INSERT inside transaction(fn, { readOnly: true, retries: 2 }) runs once, rejects with 1792 and destroys no connection', async () => {
    const t = await newTable('ro_tx')
    const lifespan = lifespanFor({ url: appUrl })
    const created = await started(lifespan)
    let attempts = 0
    const err = await lifespan
      .db()
      .transaction(async (tx) => {
        attempts++
        await tx.query(`INSERT INTO ${t} (v) VALUES ('ro')`)
      }, { readOnly: true, retries: 2 })
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ errno: 1792 })
    expect(attempts).toBe(1)
    expect(await received(`INSERT INTO ${t}`)).toBe(1)
    expect(await rowCount(t)).toBe(0)
    expect(destroyedTotal(lifespan)).toBe(0)
    expect(lifespan.stats().aliases.default!.created).toBe(created)
    expect(lifespan.stats().aliases.default!.retries).toBe(0)
  })

  it('SELECT … INTO OUTFILE refused by secure_file_priv (1290) runs once and destroys no connection', async () => {
    const sql = "SELECT 1 INTO OUTFILE '/nonexistent-dir/lifespan-refusal'"
    const lifespan = lifespanFor({ url: appUrl })
    const created = await started(lifespan)
    const err = await lifespan
      .db()
      .query(sql)
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ errno: 1290, message: expect.stringContaining('--secure-file-priv') })
    expect(await received(sql)).toBe(1)
    expect(destroyedTotal(lifespan)).toBe(0)
    expect(lifespan.stats().aliases.default!.created).toBe(created)
    // The same connection goes on serving the scope's next statement.
    await lifespan.scope(async () => {
      const [[before]] = await lifespan.db().query<Array<{ id: number }>>('SELECT CONNECTION_ID() AS id')
      await expect(lifespan.db().query(sql)).rejects.toMatchObject({ errno: 1290 })
      const [[after]] = await lifespan.db().query<Array<{ id: number }>>('SELECT CONNECTION_ID() AS id')
      expect(after!.id).toBe(before!.id)
    })
  })

  it('a 1792 in a READ ONLY transaction opened with SQL: the server is asked, it is not read-only, nothing is destroyed or re-run', async () => {
    const t = await newTable('ro_raw')
    const lifespan = lifespanFor({ url: appUrl })
    const created = await started(lifespan)
    const probes = await received(READ_ONLY_PROBE)
    await lifespan.scope(async () => {
      const db = lifespan.db()
      await db.query('START TRANSACTION READ ONLY')
      await expect(db.query(`INSERT INTO ${t} (v) VALUES ('raw')`)).rejects.toMatchObject({ errno: 1792 })
      await db.query('ROLLBACK')
    })
    expect(await received(`INSERT INTO ${t}`)).toBe(1)
    expect(await received(READ_ONLY_PROBE)).toBe(probes + 1)
    expect(await rowCount(t)).toBe(0)
    expect(destroyedTotal(lifespan)).toBe(0)
    expect(lifespan.stats().aliases.default!.created).toBe(created)
  })

  it('a server that really became read-only: the refused INSERT is re-run on a fresh connection once read_only is off, and the row exists once', async () => {
    const t = await newTable('ro_srv')
    const lifespan = lifespanFor({ url: appUrl, retry: { retries: 50, minTimeoutMs: 20, maxTimeoutMs: 50 } })
    await started(lifespan)
    // Back to writable only once the refusal came back: the server checks read_only as late as the
    // commit, so an INSERT received just before `off` could otherwise pass on its first try.
    await insertAcrossReadOnly(lifespan, t, 'SET GLOBAL read_only = 1', 'SET GLOBAL read_only = 0', async () => lifespan.stats().aliases.default!.retries >= 1)
    expect(await rowCount(t)).toBe(1)
    const stats = lifespan.stats().aliases.default!
    expect(stats.retries).toBeGreaterThanOrEqual(1)
    expect(stats.destroyed.broken).toBeGreaterThanOrEqual(1)
    expect(await received(`INSERT INTO ${t}`)).toBe(stats.retries + 1)
  })

  it('a 1792 from a server whose every transaction is read-only (global tx_read_only): the server is asked, the INSERT is re-run on a fresh connection', async () => {
    const t = await newTable('ro_glob')
    // The first re-run follows at once, later ones after a backoff of at least 300 ms.
    const lifespan = lifespanFor({ url: appUrl, retry: { retries: 10, minTimeoutMs: 300, maxTimeoutMs: 400 } })
    const probes = await received(READ_ONLY_PROBE)
    // Connections made now start read-only: the INSERT is refused with 1792, not 1290, and re-run at
    // once on a fresh (still read-only) connection. The server is switched back during the backoff
    // after the second refusal was judged read-only, before the next connection is made: a
    // connection made while it was on would be refused again, and its question, asked after the
    // switch, answered "not read-only" (an ordinary error then, rightly not re-run).
    await insertAcrossReadOnly(lifespan, t, 'SET GLOBAL tx_read_only = 1', 'SET GLOBAL tx_read_only = 0', async () => lifespan.stats().aliases.default!.retries >= 2)
    expect(await rowCount(t)).toBe(1)
    const stats = lifespan.stats().aliases.default!
    expect(stats.destroyed.broken).toBeGreaterThanOrEqual(1)
    expect(await received(READ_ONLY_PROBE)).toBeGreaterThan(probes)
  })
})
