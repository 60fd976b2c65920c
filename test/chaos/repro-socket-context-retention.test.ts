/**
 * REGRESSION TEST for a library bug found by the chaos soak (fixed in 132a1fc).
 *
 * mysql2 opens a pooled connection's socket synchronously inside whatever call needs it:
 * `pool.getConnection()` from `AliasPool.acquire()`, or `pool.releaseConnection()` (reached
 * from `conn.destroy()`/`conn.release()`) when a waiter is queued. Node gives every new TCP
 * handle the AsyncLocalStorage store of the code that created it (`kResourceStore`), so a
 * pooled connection kept the library's context `{ frame, txs }` of the scope that happened to
 * open it, for as long as the connection lived (up to `maxAgeMs`, 30 min by default): that
 * scope's Frame, whose settled promise holds the scope's result, and, when the socket was
 * opened from a transaction's `lease.discard()`, that Transaction and the destroyed
 * PoolConnection it held (with mysql2's prepared-statement LRU, about 0.5 MiB).
 *
 * Evidence at the time (heap snapshots, after GC): in the soak, 15 destroyed PoolConnections
 * alive, each retained by `TCPSocketWrap → TCP[kResourceStore] → { txs } → Map →
 * Transaction.#conn`, heap +7.5 MiB after each proxy stall; in the test below, the finished
 * scope's result retained by `TCPSocketWrap → TCP[kResourceStore] → { frame } → Frame.settle →
 * … → Promise → result`. The fix opens sockets from the pool's own async context.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { lifespanFor, mysqlUrl, sleep } from '../support/env.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

async function collected(ref: WeakRef<object>): Promise<boolean> {
  // A deref() keeps its target alive until the end of the current job: collect in a later one.
  await sleep(50)
  gc()
  await sleep(0)
  gc()
  return ref.deref() === undefined
}

/** Runs a scope that returns a large value; resolves a WeakRef to that value. */
async function scopeReturningBigValue(lifespan: ReturnType<typeof lifespanFor>): Promise<WeakRef<object>> {
  let ref!: WeakRef<object>
  await lifespan
    .scope(async () => {
      const big = new Array<number>(1_000_000).fill(7)
      ref = new WeakRef(big)
      await lifespan.db().query('SELECT 1')
      return big
    })
    .then(() => undefined)
  return ref
}

describe('regression: a pooled connection does not pin the context of the scope that opened it', () => {
  it('control: a scope that reuses an idle pooled connection is collectable once it ended', async () => {
    const lifespan = lifespanFor({ databases: { default: { uri: mysqlUrl(), connectionLimit: 4 } } })
    await lifespan.startup() // opens one connection, outside any scope
    const ref = await scopeReturningBigValue(lifespan)
    expect(lifespan.stats().aliases.default).toMatchObject({ open: 1, created: 1 })
    expect(await collected(ref)).toBe(true)
  })

  it('a scope that made the pool open a new connection is collectable once it ended', async () => {
    const lifespan = lifespanFor({ databases: { default: { uri: mysqlUrl(), connectionLimit: 4 } } })
    await lifespan.startup()
    // Keep the only idle connection busy, so the next scope's acquisition opens a second one.
    const busy = lifespan.scope(() => lifespan.db().query('SELECT SLEEP(0.2)'))
    await sleep(20)
    const ref = await scopeReturningBigValue(lifespan)
    await busy
    expect(lifespan.stats().aliases.default).toMatchObject({ open: 2, created: 2 })
    // Before the fix: still reachable through the new socket's TCP handle (kResourceStore →
    // frame → the scope's settled promise), until that connection closed.
    expect(await collected(ref)).toBe(true)
  })
})
