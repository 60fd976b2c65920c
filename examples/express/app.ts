/**
 * Express 5 with mysql-lifespan: one scope per request, graceful shutdown on SIGTERM/SIGINT.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test PORT=3000 node examples/.build/express/app.js
 *
 * Routes: `/` runs SELECT 1, `/slow` SELECT SLEEP(0.5), `/id` returns CONNECTION_ID().
 * On SIGTERM the server stops accepting, lets in-flight requests finish, shuts the lifespan
 * down, and the process exits by itself with code 0 after a clean shutdown.
 */
import express from 'express'
import { createLifespan } from 'mysql-lifespan'
import { lifespanMiddleware, shutdownOnSignals } from 'mysql-lifespan/express'

const lifespan = createLifespan({
  databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
  shutdownTimeoutMs: 5_000,
})

const app = express()
// Probes, before the middleware: they need no scope, and answer for themselves during shutdown.
// /ready: each alias hands out a validated connection within a second. /live touches no database.
app.get('/ready', async (_req, res) => {
  const health = await lifespan.health()
  res.status(health.ok ? 200 : 503).json(health)
})
app.get('/live', async (_req, res) => {
  const health = await lifespan.health({ database: false })
  res.status(health.ok ? 200 : 503).json(health)
})

// First of the database routes, so that everything after it runs in the request's scope.
app.use(lifespanMiddleware(lifespan))

app.get('/', async (_req, res) => {
  const [rows] = await lifespan.db().query('SELECT 1 AS ok')
  res.json(rows)
})

app.get('/slow', async (_req, res) => {
  const [rows] = await lifespan.db().query('SELECT SLEEP(0.5) AS slept')
  res.json(rows)
})

app.get('/id', async (_req, res) => {
  const [rows] = await lifespan.db().query('SELECT CONNECTION_ID() AS id')
  res.json(rows)
})

// Connect before accepting traffic: a wrong URL fails here, not at the first request.
await lifespan.startup()
const server = app.listen(Number(process.env.PORT ?? 3000), () => {
  const address = server.address()
  console.log(`listening on ${typeof address === 'object' && address ? address.port : address}`)
})
shutdownOnSignals(server, lifespan, { timeoutMs: 5_000 })
