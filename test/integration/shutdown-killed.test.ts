import { describe, expect, it } from 'vitest'
import type { Logger } from '../../src/index.js'
import { connectedAfter, lifespanFor, sleep } from '../support/env.js'

type Line = { level: string; obj: Record<string, unknown>; msg: string }

function capturingLogger(lines: Line[]): Logger {
  const at =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      lines.push({ level, obj: typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>) : {}, msg: msg ?? String(obj) })
    }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

describe('ShutdownReport.killed', () => {
  it('counts the connections killed at the deadline, and the log says the same number', async () => {
    const lines: Line[] = []
    const lifespan = lifespanFor({ logger: capturingLogger(lines) })
    let threadId = 0
    const stuck = lifespan.scope(async () => {
      const [rows] = await lifespan.db().query<Array<{ id: number }>>('SELECT CONNECTION_ID() AS id')
      threadId = Number(rows[0]!.id)
      await lifespan.db().query('SELECT SLEEP(5)')
    })
    stuck.catch(() => {})
    while (threadId === 0) await sleep(10)
    const report = await lifespan.shutdown({ timeoutMs: 300 })
    await expect(stuck).rejects.toMatchObject({ code: 'ERR_LIFESPAN_SCOPE_INTERRUPTED' })
    expect(report.interrupted).toBe(1)
    expect(report.killed).toBeGreaterThanOrEqual(1)
    const logged = lines.filter((l) => l.msg.includes('connections killed')).reduce((sum, l) => sum + Number(l.obj.killed), 0)
    expect(logged).toBe(report.killed)
    const complete = lines.find((l) => l.msg === 'shutdown complete')
    expect(complete?.obj.killed).toBe(report.killed)
    expect(await connectedAfter([threadId], 2_000)).toEqual([])
  })
})
