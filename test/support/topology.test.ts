import { describe, expect, it } from 'vitest'
import mysql from 'mysql2/promise'
import { APP_USER, serverId, startGaleraCluster, startReplicationSet, waitFor } from './topology.js'

describe('test topologies', () => {
  it('a GTID primary with two replicas forms, replicates, and a replica can be promoted', async () => {
    const t0 = performance.now()
    const set = await startReplicationSet({ replicas: 2 })
    const formMs = performance.now() - t0
    try {
      const ids = await Promise.all(set.nodes.map(serverId))
      expect(new Set(ids).size).toBe(3)
      await set.primary.query('CREATE TABLE test.formed (id INT PRIMARY KEY)')
      await set.primary.query('INSERT INTO test.formed VALUES (1)')
      await set.sync()
      for (const r of set.replicas) expect(await r.query('SELECT id FROM test.formed')).toEqual([{ id: 1 }])
      // The app user cannot write on a read-only replica: the 1290 an application sees.
      const replica = set.replicas[0]!
      const app = await mysql.createConnection({ host: replica.host, port: replica.port, ...APP_USER, database: 'test' })
      await expect(app.query('INSERT INTO formed VALUES (2)')).rejects.toMatchObject({ errno: 1290 })
      await app.end()

      const old = set.primary
      await set.setReadOnly(old, true, { killConnections: true })
      const p0 = performance.now()
      await set.promote(replica)
      const promoteMs = performance.now() - p0
      expect(set.primary).toBe(replica)
      await replica.query('INSERT INTO test.formed VALUES (3)')
      await set.sync()
      expect(await set.replicas[0]!.query('SELECT id FROM test.formed ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }])
      console.info(`replication set (1 + 2): formed in ${formMs.toFixed(0)} ms, promotion ${promoteMs.toFixed(0)} ms`)
    } finally {
      await set.stop()
    }
  }, 120_000)

  it('a 3-node Galera cluster forms and replicates (isolate, rejoin and kill -9 are exercised by test/topology/galera.test.ts)', async () => {
    const t0 = performance.now()
    const cluster = await startGaleraCluster(3)
    const formMs = performance.now() - t0
    try {
      for (const n of cluster.nodes) {
        expect(await cluster.status(n, 'wsrep_cluster_size')).toBe('3')
        expect(await cluster.status(n, 'wsrep_ready')).toBe('ON')
      }
      const [a, b] = cluster.nodes
      await a!.query('CREATE TABLE test.g (id INT PRIMARY KEY)')
      await a!.query('INSERT INTO test.g VALUES (1)')
      await waitFor('the row on another node', async () => ((await b!.query('SELECT id FROM test.g')) as unknown[]).length === 1)
      console.info(`galera (3 nodes): formed in ${formMs.toFixed(0)} ms`)
    } finally {
      await cluster.stop()
    }
  }, 120_000)
})
