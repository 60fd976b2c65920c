/**
 * A Fastify app whose requests each run in their own task scope.
 *
 * Run: `MYSQL_URL=mysql://root@127.0.0.1:3306/test PORT=3000 node examples/.build/fastify/app.js`
 * (PORT 0, the default, picks a free port; the real one is printed as `listening on <port>`).
 * Stop it with SIGTERM or Ctrl-C: in-flight requests finish, every connection is closed,
 * and the process exits by itself with code 0.
 */
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import type { RowDataPacket } from 'mysql2'
import { createLifespan } from 'mysql-lifespan'
import { fastifyLifespan } from 'mysql-lifespan/fastify'

const lifespan = createLifespan({
  databases: { default: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test' },
})

const app = Fastify()
// Registered before the routes, so that every route runs in a scope.
await app.register(fastifyLifespan, { lifespan })

// Probes. /ready: each alias hands out a validated connection within a second (503 otherwise, and
// during shutdown, when the plugin answers 503 for every new request). /live touches no database.
app.get('/ready', async (_request, reply) => {
  const health = await lifespan.health()
  return reply.code(health.ok ? 200 : 503).send(health)
})
app.get('/live', async (_request, reply) => {
  const health = await lifespan.health({ database: false })
  return reply.code(health.ok ? 200 : 503).send(health)
})

app.get('/', async (request) => {
  const [rows] = await request.db().query('SELECT 1 AS ok')
  return rows
})

app.get('/slow', async (request) => {
  await request.db().query('SELECT SLEEP(0.5)')
  return { slept: 0.5 }
})

// The server-side id of this request's connection, to see which connections the app holds.
app.get('/id', async (request) => {
  const [rows] = await request.db().query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id')
  return { id: rows[0]?.id }
})

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
console.log(`listening on ${(app.server.address() as AddressInfo).port}`)

// app.close() stops accepting connections and waits for in-flight requests; then the plugin's
// onClose hook shuts the lifespan down. With no socket or timer left, the process ends by itself.
async function stop(): Promise<void> {
  try {
    await app.close()
    // Joins the shutdown the plugin ran, to learn whether it was clean.
    const report = await lifespan.shutdown()
    if (!report.clean) process.exitCode = 1
  } catch (err) {
    console.error(err)
    process.exitCode = 1
  }
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop())
