/**
 * The health probe of an alias with `hosts` keeps a connection of its own to each host. When the
 * path to a host stalls, a probe statement gets no answer and that connection is dropped: its socket
 * must be closed, not only half-closed. mysql2's `destroy()` sends a FIN and waits for the server's,
 * which a stalled path never sends, so the process would hold the socket (FIN-WAIT-2) for good.
 * Read from the kernel's socket table (`ss`), as the chaos soak does.
 */
import { describe, expect, it } from 'vitest'
import { clientSockets } from '../chaos/connections.js'
import { serverBehindProxy } from '../support/server-behind-proxy.js'
import { lifespanFor, sleep } from '../support/env.js'

const env = serverBehindProxy()

describe('the topology probe on a stalled path', () => {
  it('closes the socket of a probe connection that got no answer', async (ctx) => {
    const { proxy } = env
    // Without `ss` (iproute2) the process's sockets cannot be read: nothing to check.
    if ((await clientSockets(proxy.host, proxy.port)) === undefined) return ctx.skip('ss (iproute2) is not installed')
    const lifespan = lifespanFor({
      databases: { default: { user: 'root', database: 'test', hosts: [`${proxy.host}:${proxy.port}`] } },
      pingTimeoutMs: 300,
      maxReplicaLagMs: 400,
    })
    await lifespan.startup()
    await lifespan.db().query('SELECT 1')
    proxy.stall()
    try {
      // Probes every 200 ms, each bounded by 500 ms: several have timed out by now.
      await sleep(2_000)
      const sockets = await clientSockets(proxy.host, proxy.port)
      // Held sockets that are neither connected nor connecting: closed on our side, still open in the process.
      expect([...sockets!.closing.values()]).toEqual([])
    } finally {
      proxy.reset()
      proxy.resume()
    }
  })
})
