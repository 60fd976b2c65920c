/**
 * node:http with mysql-lifespan: one scope per request, graceful shutdown on SIGTERM/SIGINT.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test PORT=3000 node examples/.build/http/app.js
 *
 * Routes: `/` runs SELECT 1, `/slow` SELECT SLEEP(0.5), `/id` returns CONNECTION_ID().
 * On SIGTERM the process drains its requests and exits by itself with code 0.
 */
import { createServer } from 'node:http'
import { createLifespan } from 'mysql-lifespan'
import { shutdownOnSignals, wrapHandler } from 'mysql-lifespan/http'

const lifespan = createLifespan({
  databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
  shutdownTimeoutMs: 5_000,
})

const routes: Record<string, string> = {
  '/': 'SELECT 1 AS ok',
  '/slow': 'SELECT SLEEP(0.5) AS slept',
  '/id': 'SELECT CONNECTION_ID() AS id',
}

const handler = wrapHandler(lifespan, async (req, res) => {
  const sql = routes[new URL(req.url ?? '/', 'http://localhost').pathname]
  if (sql === undefined) {
    res.writeHead(404).end()
    return
  }
  try {
    const [rows] = await lifespan.db().query(sql)
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(rows))
  } catch (err) {
    // A raw node:http handler must answer its own errors.
    res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${(err as { code?: string }).code ?? 'error'}\n`)
  }
})

// Probes outside the wrapped handler: they need no scope, and answer for themselves during shutdown.
// /ready: each alias hands out a validated connection within a second. /live touches no database.
const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname
  if (path !== '/ready' && path !== '/live') return void handler(req, res)
  void lifespan.health({ database: path === '/ready' }).then((health) => {
    res.writeHead(health.ok ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify(health))
  })
})

await lifespan.startup()
server.listen(Number(process.env.PORT ?? 3000), () => {
  const address = server.address()
  console.log(`listening on ${typeof address === 'object' && address ? address.port : address}`)
})
shutdownOnSignals(server, lifespan, { timeoutMs: 5_000 })
