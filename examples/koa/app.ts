/**
 * Koa 3 with mysql-lifespan: one scope per request, graceful shutdown on SIGTERM/SIGINT.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test PORT=3000 node examples/.build/koa/app.js
 *
 * Routes: `/` runs SELECT 1, `/slow` SELECT SLEEP(0.5), `/id` returns CONNECTION_ID().
 * On SIGTERM the process drains its requests and exits by itself with code 0.
 */
import Koa from 'koa'
import { createLifespan } from 'mysql-lifespan'
import { lifespanMiddleware, shutdownOnSignals } from 'mysql-lifespan/koa'

const lifespan = createLifespan({
  databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
  shutdownTimeoutMs: 5_000,
})

const routes: Record<string, string> = {
  '/': 'SELECT 1 AS ok',
  '/slow': 'SELECT SLEEP(0.5) AS slept',
  '/id': 'SELECT CONNECTION_ID() AS id',
}

const app = new Koa()
// Probes, before the lifespan's middleware: they need no scope, and answer for themselves during shutdown.
app.use(async (ctx, next) => {
  if (ctx.path !== '/ready' && ctx.path !== '/live') return next()
  const health = await lifespan.health({ database: ctx.path === '/ready' })
  ctx.status = health.ok ? 200 : 503
  ctx.body = health
})
app.use(lifespanMiddleware(lifespan))
app.use(async (ctx) => {
  const sql = routes[ctx.path]
  if (sql === undefined) return // Koa answers 404
  const [rows] = await lifespan.db().query(sql)
  ctx.body = rows
})

await lifespan.startup()
const server = app.listen(Number(process.env.PORT ?? 3000), () => {
  const address = server.address()
  console.log(`listening on ${typeof address === 'object' && address ? address.port : address}`)
})
shutdownOnSignals(server, lifespan, { timeoutMs: 5_000 })
