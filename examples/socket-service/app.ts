/**
 * The background service of the "MySQL server has gone away" story: it listens on a socket and,
 * when asked (perhaps after a night of idling), runs a query. Each request line is handled in a
 * scope of its own, which validates the connection first: no heartbeat thread needed.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test PORT=4000 node examples/.build/socket-service/app.js
 *   SOCKET_PATH=/tmp/service.sock node examples/.build/socket-service/app.js     # unix socket
 *
 * Try it: `printf '/id\n/slow\n' | nc -q1 127.0.0.1 4000`. Requests: `/` runs SELECT 1, `/slow`
 * SELECT SLEEP(0.5), `/id` returns CONNECTION_ID(); each reply is one JSON line. SIGTERM/SIGINT:
 * requests in progress are answered, then the process exits by itself with code 0.
 */
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { createLifespan } from 'mysql-lifespan'
import { runMain, serveSocket } from 'mysql-lifespan/worker'

const lifespan = createLifespan({
  databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
  shutdownTimeoutMs: 5_000,
})

const requests: Record<string, string> = {
  '/': 'SELECT 1 AS ok',
  '/slow': 'SELECT SLEEP(0.5) AS slept',
  '/id': 'SELECT CONNECTION_ID() AS id',
}

await runMain(lifespan, async (signal) => {
  const server = serveSocket(
    lifespan,
    async (request) => {
      const sql = requests[request.trim()]
      if (sql === undefined) return { error: 'unknown request' }
      const [rows] = await lifespan.db().query(sql)
      return rows
    },
    { signal },
  )
  const path = process.env.SOCKET_PATH
  if (path) rmSync(path, { force: true }) // a socket file left by a crash would make listen() fail
  server.listen(path ?? Number(process.env.PORT ?? 4000), () => {
    const address = server.address()
    console.log(`listening on ${typeof address === 'object' && address ? address.port : address}`)
  })
  // Resolves once the service has stopped accepting and every connection has been answered and ended.
  await once(server, 'close')
})
