/**
 * The measured fault scenarios (shared/reference/mysql2-faults.md), run against a plain
 * mysql2 pool and mysql-lifespan side by side: both clients warm up, block their event
 * loops, the fault is injected once for both, then each fires the same reads.
 * Used by the demo, the fault tests and the benchmarks.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import mysql from 'mysql2/promise'
import type { DisposableServer } from '../test/support/disposable-server.js'
import type { FaultProxy } from '../test/support/fault-proxy.js'
import type { ClientConfig, ClientResult } from './fault-client.js'

/** The faults, in the order the demo shows them. */
export const SCENARIOS = ['idle', 'kill', 'restart', 'stall', 'interaction-timeout'] as const
export type ScenarioName = (typeof SCENARIOS)[number]

/** One line of the demo's table. */
export interface ScenarioTitle {
  name: ScenarioName
  title: string
}

export const TITLES: Record<ScenarioName, string> = {
  idle: 'idle past wait_timeout, busy event loop',
  kill: 'KILL of every pooled connection',
  restart: 'server restart, busy event loop',
  stall: 'stalled network path (2 s blackhole)',
  'interaction-timeout': 'MySQL 8 4031 reply to in-flight reads',
}

/**
 * Where the scenarios run. Faults that change the server (a global `wait_timeout`, a restart)
 * use the disposable server; the others run against `url` (MYSQL_URL), killing only the
 * clients' own connections, with `proxy` in front of it for network faults.
 */
export interface FaultEnv {
  server: DisposableServer
  url: string
  proxy: FaultProxy
}

/** `url` with its host and port replaced by the proxy's; credentials and options kept. */
export function throughProxy(url: string, proxy: FaultProxy): string {
  const u = new URL(url)
  u.hostname = proxy.host
  u.port = String(proxy.port)
  return u.toString()
}

export interface ScenarioResult {
  name: ScenarioName
  plain: ClientResult
  lifespan: ClientResult
}

const POOL = 5
const QUERIES = 20
const STALL_MS = 2_000
// Tests import this file from source; the client always runs compiled (npm run build:tools).
const clientPath = fileURLToPath(
  import.meta.url.endsWith('.ts') ? new URL('../.build/demo/fault-client.js', import.meta.url) : new URL('./fault-client.js', import.meta.url),
)

interface Running {
  warm: Promise<number[]>
  result: Promise<ClientResult>
}

function startClient(config: ClientConfig): Running {
  const child = spawn(process.execPath, [clientPath, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let buffer = ''
  let stderr = ''
  let onWarm!: (ids: number[]) => void
  let onResult!: (r: ClientResult) => void
  let onError!: (e: Error) => void
  const warm = new Promise<number[]>((resolve, reject) => {
    onWarm = resolve
    onError = reject
  })
  const result = new Promise<ClientResult>((resolve, reject) => {
    onResult = resolve
    const fail = onError
    onError = (e) => {
      fail(e)
      reject(e)
    }
  })
  warm.catch(() => {})
  result.catch(() => {})
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString()
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      const event = JSON.parse(line) as { event: string; ids?: number[]; message?: string }
      if (event.event === 'warm') onWarm(event.ids ?? [])
      else if (event.event === 'result') onResult(event as unknown as ClientResult)
      else if (event.event === 'error') onError(new Error(`${config.mode} client failed: ${event.message}`))
    }
  })
  child.on('exit', (code) => onError(new Error(`${config.mode} client exited (${code}) before reporting: ${stderr.slice(-500)}`)))
  return { warm, result }
}

/** Sends every statement at once on `conn` (mysql2 pipelines them), then closes it. */
async function pipeline(conn: mysql.Connection, statements: string[]): Promise<void> {
  try {
    await Promise.all(statements.map((s) => conn.query(s).catch(() => {})))
  } finally {
    await conn.end()
  }
}

/**
 * Runs one scenario with both clients at once and returns what each saw.
 * Leaves the server and proxy as it found them (wait_timeout restored, proxy passing).
 */
export async function runScenario(name: ScenarioName, env: FaultEnv): Promise<ScenarioResult> {
  const { server, proxy } = env
  const onServer = name === 'idle' || name === 'restart'
  const viaProxy = name === 'stall' || name === 'interaction-timeout'
  const url = onServer ? server.url : viaProxy ? throughProxy(env.url, proxy) : env.url
  const blockMs = { idle: 3_500, kill: 1_000, restart: 4_000, stall: 1_000, 'interaction-timeout': 300 }[name]
  const hangMs = name === 'stall' ? 12_000 : 8_000
  const base = { url, pool: POOL, queries: QUERIES, blockMs, hangMs }

  if (name === 'idle') await server.query('SET GLOBAL wait_timeout = 2')
  // Opened before the clients block, so the KILLs land well inside their busy window.
  const killer = name === 'kill' ? await mysql.createConnection({ uri: env.url }) : undefined
  try {
    const plain = startClient({ ...base, mode: 'plain', sql: 'SELECT 1 AS probe_plain' })
    const lifespan = startClient({ ...base, mode: 'lifespan', sql: 'SELECT 1 AS probe_lifespan' })
    const [plainIds, lifespanIds] = await Promise.all([plain.warm, lifespan.warm])

    switch (name) {
      case 'idle':
        break // the server resets the sessions by itself after 2 s
      case 'kill':
        await pipeline(killer!, [...plainIds, ...lifespanIds].map((id) => `KILL CONNECTION ${id}`))
        break
      case 'restart':
        await server.restart()
        break
      case 'stall':
        proxy.stall()
        setTimeout(() => proxy.resume(), STALL_MS)
        break
      case 'interaction-timeout':
        for (let i = 0; i < POOL; i++) {
          void proxy.injectInteractionTimeout((sql) => sql.includes('probe_plain')).catch(() => {})
          void proxy.injectInteractionTimeout((sql) => sql.includes('probe_lifespan')).catch(() => {})
        }
        break
    }
    const [plainResult, lifespanResult] = await Promise.all([plain.result, lifespan.result])
    return { name, plain: plainResult, lifespan: lifespanResult }
  } finally {
    killer?.destroy()
    if (name === 'idle') await server.query('SET GLOBAL wait_timeout = 28800')
    if (name === 'stall') proxy.resume()
  }
}
