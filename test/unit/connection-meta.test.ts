/**
 * What a pool knows of a connection is kept on the connection object (connection-meta.ts): only
 * the pool that opened it finds it, as with the per-pool WeakMap it replaced.
 */
import type { PoolConnection } from 'mysql2'
import { describe, expect, it } from 'vitest'
import { keepMeta, readMeta } from '../../src/connection-meta.js'
import { SessionState } from '../../src/connection-state.js'
import type { ConnectionMeta } from '../../src/pool-types.js'

function meta(owner: object): ConnectionMeta {
  return { owner, createdAt: 0, lastUsedAt: 0, maxAgeMs: 0, idleLimitMs: undefined, session: new SessionState(), baseline: undefined, epoch: 0, leased: false }
}

describe('connection metadata', () => {
  it('is found by the pool that kept it, and by no other', () => {
    const conn = {} as PoolConnection
    const mine = {}
    const other = {}
    expect(readMeta(mine, conn)).toBeUndefined()
    const m = meta(mine)
    keepMeta(conn, m)
    expect(readMeta(mine, conn)).toBe(m)
    expect(readMeta(other, conn)).toBeUndefined()
  })

  it('is not among the connection object\'s own keys (nothing that lists or serialises it sees it)', () => {
    const conn = {} as PoolConnection
    keepMeta(conn, meta({}))
    expect(Object.keys(conn)).toEqual([])
    expect(JSON.stringify(conn)).toBe('{}')
  })
})
