/**
 * Hono on @hono/node-server with mysql-lifespan: one scope per request, graceful shutdown on
 * SIGTERM/SIGINT.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test PORT=3000 node examples/.build/hono/app.js
 *
 * Routes: `/` runs SELECT 1, `/slow` SELECT SLEEP(0.5), `/id` returns CONNECTION_ID().
 * On SIGTERM the process drains its requests and exits by itself with code 0.
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createLifespan } from 'mysql-lifespan'
import { lifespanMiddleware, shutdownOnSignals } from 'mysql-lifespan/hono'

const lifespan = createLifespan({
  databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
  shutdownTimeoutMs: 5_000,
})

const app = new Hono()
// Probes, before the middleware: they need no scope, and answer for themselves during shutdown.
app.get('/ready', async (c) => {
  const health = await lifespan.health()
  return c.json(health, health.ok ? 200 : 503)
})
app.get('/live', async (c) => {
  const health = await lifespan.health({ database: false })
  return c.json(health, health.ok ? 200 : 503)
})
app.use(lifespanMiddleware(lifespan))

app.get('/', async (c) => {
  const [rows] = await lifespan.db().query('SELECT 1 AS ok')
  return c.json(rows)
})

app.get('/slow', async (c) => {
  const [rows] = await lifespan.db().query('SELECT SLEEP(0.5) AS slept')
  return c.json(rows)
})

app.get('/id', async (c) => {
  const [rows] = await lifespan.db().query('SELECT CONNECTION_ID() AS id')
  return c.json(rows)
})

await lifespan.startup()
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }, (info) => {
  console.log(`listening on ${info.port}`)
})
shutdownOnSignals(server, lifespan, { timeoutMs: 5_000 })
