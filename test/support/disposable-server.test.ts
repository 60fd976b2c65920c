import { stat } from 'node:fs/promises'
import { describe, it, expect } from 'vitest'
import mysql from 'mysql2/promise'
import { isPortClosed, startDisposableServer } from './disposable-server.js'

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('startDisposableServer', () => {
  it('starts with the given wait_timeout, survives a restart, and stops cleanly', async () => {
    const started = performance.now()
    const server = await startDisposableServer({ waitTimeout: 2 })
    const startMs = performance.now() - started
    try {
      expect(server.host).toBe('127.0.0.1')
      expect(server.url).toBe(`mysql://root@127.0.0.1:${server.port}/test`)
      expect(server.port).not.toBe(3306)
      expect(await server.query('SELECT @@global.wait_timeout AS t')).toEqual([{ t: 2 }])

      const firstPid = server.pid
      const restarted = performance.now()
      await server.restart({ downMs: 100 })
      const restartMs = performance.now() - restarted
      expect(server.pid).toBeDefined()
      expect(server.pid).not.toBe(firstPid)
      expect(isAlive(firstPid ?? -1)).toBe(false)
      expect(await server.query('SELECT @@global.wait_timeout AS t, DATABASE() AS db')).toEqual([{ t: 2, db: 'test' }])

      console.info(`disposable server: start ${startMs.toFixed(0)} ms, restart (downMs 100) ${restartMs.toFixed(0)} ms`)
    } finally {
      const pid = server.pid
      await server.stop()
      expect(server.pid).toBeUndefined()
      expect(isAlive(pid ?? -1)).toBe(false)
    }
    expect(await isPortClosed(server.port)).toBe(true)
    await expect(stat(server.dir)).rejects.toThrow()
  }, 60_000)

  it('lists and kills client connections without listing its own admin connection', async () => {
    const server = await startDisposableServer({ maxConnections: 20 })
    try {
      expect(await server.query('SELECT @@global.max_connections AS m')).toEqual([{ m: 20 }])
      expect(await server.connectionIds()).toEqual([])

      const client = await mysql.createConnection(server.url)
      const lost = new Promise<unknown>((resolve) => client.once('error', resolve))
      const [[{ id }]] = (await client.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]]
      expect(await server.connectionIds()).toEqual([id])
      expect(await server.connectionIds('root')).toEqual([id])
      expect(await server.connectionIds('nobody')).toEqual([])

      await server.query(`KILL ${id}`)
      expect(await lost).toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' })
      // The killed thread can linger in the processlist for a moment while the server cleans up.
      let left = await server.connectionIds()
      for (let i = 0; i < 40 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 50))
        left = await server.connectionIds()
      }
      expect(left).toEqual([])
      client.destroy()
    } finally {
      await server.stop()
    }
  }, 60_000)

  it('kill() SIGKILLs the server and still removes its files', async () => {
    const server = await startDisposableServer()
    const pid = server.pid
    await server.kill()
    expect(isAlive(pid ?? -1)).toBe(false)
    expect(await isPortClosed(server.port)).toBe(true)
    await expect(stat(server.dir)).rejects.toThrow()
    // A second stop after kill() is a no-op, so afterAll hooks may call it unconditionally.
    await server.stop()
  }, 60_000)
})
