/**
 * The setup most fault tests share: a disposable MariaDB with a fault proxy in front of it,
 * started before the file's tests and stopped after them.
 */
import { afterAll, beforeAll } from 'vitest'
import { type DisposableServer, type DisposableServerOptions, startDisposableServer } from './disposable-server.js'
import { type FaultProxy, startFaultProxy } from './fault-proxy.js'

/** What {@link serverBehindProxy} provides once the file's `beforeAll` ran. */
export interface ServerBehindProxy {
  readonly server: DisposableServer
  readonly proxy: FaultProxy
}

/** Registers `beforeAll`/`afterAll` hooks; read the fields inside tests. */
export function serverBehindProxy(options?: DisposableServerOptions): ServerBehindProxy {
  let server: DisposableServer | undefined
  let proxy: FaultProxy | undefined
  beforeAll(async () => {
    server = await startDisposableServer(options)
    proxy = await startFaultProxy({ host: server.host, port: server.port })
  })
  afterAll(async () => {
    await proxy?.close()
    await server?.stop()
  })
  return {
    get server(): DisposableServer {
      if (!server) throw new Error('serverBehindProxy: used before beforeAll ran')
      return server
    },
    get proxy(): FaultProxy {
      if (!proxy) throw new Error('serverBehindProxy: used before beforeAll ran')
      return proxy
    },
  }
}
