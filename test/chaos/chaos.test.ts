/**
 * The chaos soak, 20 s of it, on every test run: the same `runSoak` as `npm run chaos`, called
 * in-process against the library's source (src), with its own disposable MariaDB, fault proxy
 * and (where the machine allows) network namespace. See soak.ts for what it does and checks.
 */
import { describe, expect, it } from 'vitest'
import { createLifespan } from '../../src/index.js'
import { runSoak } from './soak.js'

describe('chaos soak (20 s)', () => {
  it('no write lost or doubled, balances invariant, no unhandled rejection, every connection closed', async () => {
    const result = await runSoak({ createLifespan, seconds: 20 })
    // The table is the evidence when this fails in CI.
    console.log(result.table)

    expect(result.verificationError).toBeUndefined()
    const v = result.verification!
    expect({ lost: v.inserts.lost + v.transfers.lost + v.upserts.ackedMissing }).toEqual({ lost: 0 })
    expect({ duplicated: v.inserts.duplicated + v.transfers.duplicated }).toEqual({ duplicated: 0 })
    expect({ knownFailedPresent: v.inserts.knownFailedPresent + v.transfers.knownFailedPresent }).toEqual({ knownFailedPresent: 0 })
    expect(v.balances.total).toBe(v.balances.expectedTotal)
    expect(v.balances.accountsOff).toBe(0)
    expect(result.unhandledRejections).toEqual([])
    expect(result.uncaughtExceptions).toEqual([])
    const c = result.connections
    expect({
      lifespanState: c.lifespanState,
      lifespanOpen: c.lifespanOpenAfterShutdown,
      clientSockets: c.clientSocketsAfterShutdown && c.clientSocketsAfterShutdown.live + c.clientSocketsAfterShutdown.held + c.clientSocketsAfterShutdown.closeWait,
      serverSessions: c.unexplainedServerSessions,
      serverSessionsAfterPathClosed: c.serverSessionsAfterPathClosed,
    }).toEqual({ lifespanState: 'stopped', lifespanOpen: 0, clientSockets: c.clientSocketsAfterShutdown ? 0 : undefined, serverSessions: [], serverSessionsAfterPathClosed: 0 })
    // Everything else the soak checks (hangs, pool budget, heap trend, online checks, codes).
    expect(result.violations).toEqual([])
    // The run did what it says: writes happened and faults were injected.
    expect(v.inserts.acked).toBeGreaterThan(100)
    expect(v.transfers.acked).toBeGreaterThan(100)
    expect(Object.values(result.faults).reduce((n, f) => n + f.count, 0)).toBeGreaterThan(5)
  }, 90_000)
})
