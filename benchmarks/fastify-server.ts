/**
 * The Fastify app of measure 2, in its own process: one read and one write per request, on a
 * plain mysql2/promise pool or through the mysql-lifespan Fastify adapter. Prints
 * `{"event":"listening","port":N}`, then serves until SIGTERM.
 */
import { pathToFileURL } from 'node:url'
import mysql from 'mysql2/promise'
import { childConfig, emit } from './lib/child.js'
import { loadFastify } from './lib/deps.js'

export interface FastifyServerConfig {
  mode: 'plain' | 'lifespan'
  url: string
  pool: number
  table: string
  rows: number
  /** A patched build's index.js (its adapters/fastify.js beside it) instead of mysql-lifespan. */
  lib?: string
}

const config = childConfig<FastifyServerConfig>()
const Fastify = loadFastify()
const app = Fastify({ logger: false })
const read = `SELECT id, n FROM ${config.table} WHERE id = ?`
const write = `UPDATE ${config.table} SET n = n + 1 WHERE id = ?`
const pick = (): number => 1 + Math.floor(Math.random() * config.rows)

if (config.mode === 'plain') {
  const pool = mysql.createPool({ uri: config.url, connectionLimit: config.pool })
  app.get('/item', async () => {
    const id = pick()
    const [rows] = await pool.query(read, [id])
    await pool.query(write, [id])
    return (rows as unknown[])[0]
  })
  app.addHook('onClose', async () => pool.end())
} else {
  const core = (config.lib ? await import(pathToFileURL(config.lib).href) : await import('mysql-lifespan')) as typeof import('mysql-lifespan')
  const adapter = (
    config.lib ? await import(new URL('./adapters/fastify.js', pathToFileURL(config.lib)).href) : await import('mysql-lifespan/fastify')
  ) as typeof import('mysql-lifespan/fastify')
  const { createLifespan } = core
  const { fastifyLifespan } = adapter
  const lifespan = createLifespan({ databases: { default: { uri: config.url, connectionLimit: config.pool } } })
  await app.register(fastifyLifespan, { lifespan })
  app.get('/item', async (request) => {
    const id = pick()
    const [rows] = await request.db().query(read, [id])
    await request.db().query(write, [id])
    return (rows as unknown[])[0]
  })
}

await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
emit({ event: 'listening', port: typeof address === 'object' && address ? address.port : 0 })
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0))
})
