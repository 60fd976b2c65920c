/**
 * Measure 2: a realistic request. Fastify, one read and one write per request, plain mysql2
 * (`pool.query`, promise API) against the mysql-lifespan Fastify adapter (one scope and one
 * leased connection per request). Load from autocannon in a separate process on loopback.
 * Server and load generator are started fresh for every trial; modes alternate A B B A.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import mysql from 'mysql2/promise'
import { autocannonBin } from './lib/deps.js'
import { boost, fmtBusy, waitForQuiet } from './lib/quiet.js'
import { fmtInt, fmtMs, fmtRatio, median, table } from './lib/stats.js'
import type { FastifyServerConfig } from './fastify-server.js'

const SERVER = fileURLToPath(new URL('./fastify-server.js', import.meta.url))
const TABLE = 'mysql_lifespan_bench_items'
const ROWS = 1_000

export interface FastifyBenchOptions {
  url: string
  rounds: number
  warmupS: number
  durationS: number
  connections: number
  /** A patched build (see --lib), measured as a third server beside the two. */
  lib?: string
  log: (line: string) => void
}

type Mode = 'plain' | 'lifespan' | 'patched'

interface Trial {
  mode: Mode
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  requests: number
}

async function prepare(url: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: url })
  try {
    await conn.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id INT PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0) ENGINE=InnoDB`)
    const values = Array.from({ length: ROWS }, (_, i) => [i + 1, 0])
    await conn.query(`INSERT IGNORE INTO ${TABLE} (id, n) VALUES ?`, [values])
  } finally {
    await conn.end()
  }
}

async function cleanup(url: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: url })
  try {
    await conn.query(`DROP TABLE IF EXISTS ${TABLE}`)
  } finally {
    await conn.end()
  }
}

function startServer(config: FastifyServerConfig): Promise<{ port: number; stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] })
    boost(child.pid)
    let out = ''
    let err = ''
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.includes('"listening"'))
      if (!line) return
      const { port } = JSON.parse(line) as { port: number }
      resolve({
        port,
        stop: async () => {
          child.kill('SIGTERM')
          const t = setTimeout(() => child.kill('SIGKILL'), 5_000)
          await exited
          clearTimeout(t)
        },
      })
    })
    child.once('exit', (code) => reject(new Error(`fastify server exited (${code}): ${err.slice(-1_000)}`)))
  })
}

interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  errors: number
  timeouts: number
  non2xx: number
}

function autocannon(port: number, connections: number, seconds: number): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [autocannonBin(), '-j', '-c', String(connections), '-d', String(seconds), `http://127.0.0.1:${port}/item`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    boost(child.pid)
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', () => {})
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out) as AutocannonResult)
      } catch {
        reject(new Error(`autocannon exited (${code}) without a JSON report`))
      }
    })
  })
}

export async function runFastify(options: FastifyBenchOptions): Promise<{ markdown: string; rpsRatio: number; p99Ratio: number }> {
  await prepare(options.url)
  const trials: Trial[] = []
  const loads: string[] = []
  try {
    for (let round = 0; round < options.rounds; round++) {
      const modes: Mode[] = options.lib ? ['plain', 'lifespan', 'patched'] : ['plain', 'lifespan']
      const order = round % 2 === 0 ? modes : [...modes].reverse()
      for (const mode of order) {
        loads.push(`${mode} ${fmtBusy(await waitForQuiet())}`)
        const server = await startServer({
          mode: mode === 'plain' ? 'plain' : 'lifespan',
          url: options.url,
          pool: 10,
          table: TABLE,
          rows: ROWS,
          ...(mode === 'patched' ? { lib: options.lib } : {}),
        })
        try {
          await autocannon(server.port, options.connections, options.warmupS)
          const r = await autocannon(server.port, options.connections, options.durationS)
          const trial: Trial = {
            mode,
            rps: r.requests.average,
            p50: r.latency.p50,
            p99: r.latency.p99,
            errors: r.errors + r.timeouts,
            non2xx: r.non2xx,
            requests: r.requests.total,
          }
          trials.push(trial)
          options.log(`  round ${round + 1}/${options.rounds} ${mode}: ${fmtInt(trial.rps)} req/s, p99 ${trial.p99} ms, errors ${trial.errors + trial.non2xx}`)
        } finally {
          await server.stop()
        }
      }
    }
  } finally {
    await cleanup(options.url)
  }
  const of = (mode: Trial['mode']): Trial[] => trials.filter((t) => t.mode === mode)
  const stat = (mode: Trial['mode'], f: (t: Trial) => number): number => median(of(mode).map(f))
  const rpsRatio = stat('lifespan', (t) => t.rps) / stat('plain', (t) => t.rps)
  const p99Ratio = stat('lifespan', (t) => t.p99) / stat('plain', (t) => t.p99)
  const row = (mode: Mode, title: string): string[] => [
    title,
    fmtInt(stat(mode, (t) => t.rps)),
    of(mode).map((t) => fmtInt(t.rps)).join(', '),
    fmtMs(stat(mode, (t) => t.p50), 0),
    fmtMs(stat(mode, (t) => t.p99), 0),
    String(of(mode).reduce((n, t) => n + t.errors + t.non2xx, 0)),
    fmtInt(of(mode).reduce((n, t) => n + t.requests, 0)),
  ]
  const markdown = [
    table(
      ['server', 'req/s (median)', 'req/s per trial', 'p50 ms', 'p99 ms', 'errors + non-2xx', 'requests'],
      [
        row('plain', 'Fastify + mysql2/promise `pool.query` (2 checkouts per request)'),
        row('lifespan', 'Fastify + `mysql-lifespan/fastify` (1 scope, 1 lease per request)'),
        ...(options.lib ? [row('patched', 'Fastify + `mysql-lifespan/fastify`, **patched** library')] : []),
      ],
    ),
    '',
    `mysql-lifespan / plain: **${fmtRatio(rpsRatio)} requests/s**, **${fmtRatio(p99Ratio)} p99 latency** (ratios of medians; autocannon reports latency in whole ms).` +
      (options.lib
        ? ` Patched / plain: ${fmtRatio(stat('patched', (t) => t.rps) / stat('plain', (t) => t.rps))} requests/s, ${fmtRatio(stat('patched', (t) => t.p99) / stat('plain', (t) => t.p99))} p99.`
        : ''),
    '',
    `${options.rounds} rounds, order reversed every other round; autocannon -c ${options.connections}, ${options.warmupS} s warm-up (discarded) then ${options.durationS} s measured, ` +
      `fresh server process per trial, pool of 10. Each request: \`SELECT id, n FROM ${TABLE} WHERE id = ?\` then \`UPDATE ... SET n = n + 1 WHERE id = ?\` ` +
      `(InnoDB, autocommit, random id of ${ROWS}). Machine CPU busy just before each trial: ${loads.join(', ')}.`,
  ].join('\n')
  return { markdown, rpsRatio, p99Ratio }
}
