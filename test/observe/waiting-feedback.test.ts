/**
 * Feedback while an acquisition waits: each failed connect attempt is logged at warn, at most
 * once a second per alias with the count of the ones left out, so a wrong host shows while the
 * acquisition is still waiting; the final timeout error keeps its counts and last cause.
 */
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { AcquireTimeoutError } from '../../src/index.js'
import { lifespanFor } from '../support/env.js'

/** A loopback port nothing listens on (taken and released). */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

type Line = { level: string; obj: Record<string, unknown>; msg: string | undefined; pending: boolean }

describe('failed connect attempts during an acquisition', () => {
  it('are logged at warn while it still waits, rate-limited, and the timeout keeps counts and cause', async () => {
    const port = await deadPort()
    const lines: Line[] = []
    let pending = true
    const at = (level: string) => (obj: unknown, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg, pending })
    const lifespan = lifespanFor({
      url: `mysql://app:s3cret-pw@127.0.0.1:${port}/test`,
      acquireTimeoutMs: 2_500,
      logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    })
    const err = await lifespan.startup().catch((e: unknown) => e).finally(() => (pending = false))
    const warns = lines.filter((l) => l.level === 'warn')
    // The first failure shows at once, while startup is still waiting out its 2.5 s.
    expect(warns[0]).toMatchObject({ pending: true, obj: { alias: 'default', err: expect.stringContaining('ECONNREFUSED'), suppressed: 0 } })
    // Attempts back off from 25 ms up to 1 s: many more attempts than lines, at most one line a second.
    expect(warns.length).toBeGreaterThanOrEqual(2)
    expect(warns.length).toBeLessThanOrEqual(4)
    expect(warns.slice(1).every((l) => Number(l.obj.suppressed) >= 0)).toBe(true)
    expect(warns.reduce((n, l) => n + 1 + Number(l.obj.suppressed), 0)).toBeGreaterThan(warns.length)
    expect(err).toBeInstanceOf(AcquireTimeoutError)
    expect(err).toMatchObject({ code: 'ERR_LIFESPAN_ACQUIRE_TIMEOUT', pool: { open: 0, inUse: 0, waiting: 1 }, cause: expect.objectContaining({ code: 'ECONNREFUSED' }) })
    expect((err as Error).message).toContain('ECONNREFUSED')
    // Never the password.
    expect(JSON.stringify(lines)).not.toContain('s3cret-pw')
  })
})
