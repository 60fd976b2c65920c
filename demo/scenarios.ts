/**
 * The measured fault scenarios (the failures plain mysql2 shows for each fault), run against a plain
 * mysql2 pool and mysql-lifespan side by side: both clients warm up, block their event
 * loops, the fault is injected once for both, then each fires the same reads.
 * Used by the demo, the fault tests and the benchmarks.
 */
import { spawn } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mysql from 'mysql2/promise'
import type { DisposableServer } from '../test/support/disposable-server.js'
import type { FaultProxy } from '../test/support/fault-proxy.js'
import type { ClientConfig, ClientResult } from './fault-client.js'

/** The faults, in the order the demo shows them. */
export const SCENARIOS = ['idle', 'kill', 'restart', 'stall', 'interaction-timeout'] as const
export type ScenarioName = (typeof SCENARIOS)[number]

/** How the demo's table names each fault. */
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

/** What each client saw in one scenario, by mode. */
export type ScenarioResult<M extends string = DemoMode> = { name: ScenarioName } & Record<M, ClientResult>

/** The demo's two clients. */
export type DemoMode = 'plain' | 'lifespan'

/** Who runs in a scenario. */
export interface ScenarioOptions<M extends string> {
  /**
   * The clients, each in its own process.
   *
   * @default ['plain', 'lifespan']
   */
  modes?: readonly M[]
  /** The client program (the demo's by default); it must speak {@link runFaultClient}'s protocol. */
  clientScript?: string
  /** Called with each client's pid (the benchmarks raise its priority). */
  onSpawn?: (pid: number | undefined) => void
}

let runs = 0

/** Pool size and reads per client. */
export const POOL = 5
export const QUERIES = 20
/** How long the stall lasts. */
export const STALL_MS = 2_000
/** How long each client blocks its event loop across the fault. */
export const BLOCK_MS: Record<ScenarioName, number> = { idle: 3_500, kill: 1_000, restart: 4_000, stall: 1_000, 'interaction-timeout': 300 }
/** When a call counts as hung. */
export const hangMs = (name: ScenarioName): number => (name === 'stall' ? 12_000 : 8_000)

// Tests import this file from source; the client always runs compiled (npm run build:tools).
const demoClient = fileURLToPath(
  import.meta.url.endsWith('.ts') ? new URL('../.build/demo/fault-client.js', import.meta.url) : new URL('./fault-client.js', import.meta.url),
)

interface Running {
  warm: Promise<number[]>
  /** Releases the client into its block; resolves once it is blocking. */
  go: () => Promise<void>
  result: Promise<ClientResult>
}

function startClient(script: string, config: ClientConfig, onSpawn?: (pid: number | undefined) => void): Running {
  const child = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] })
  onSpawn?.(child.pid)
  child.stdin.on('error', () => {})
  let buffer = ''
  let stderr = ''
  let onWarm!: (ids: number[]) => void
  let onBlocking: () => void = () => {}
  const blocking = new Promise<void>((resolve) => (onBlocking = resolve))
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
      if (!line.startsWith('{')) continue
      const event = JSON.parse(line) as { event: string; ids?: number[]; message?: string }
      if (event.event === 'warm') onWarm(event.ids ?? [])
      else if (event.event === 'blocking') onBlocking()
      else if (event.event === 'result') onResult(event as unknown as ClientResult)
      else if (event.event === 'error') onError(new Error(`${config.mode} client failed: ${event.message}`))
    }
  })
  child.on('exit', (code) => onError(new Error(`${config.mode} client exited (${code}) before reporting: ${stderr.slice(-800)}`)))
  return {
    warm,
    result,
    go: () => {
      child.stdin.write('go\n')
      return Promise.race([blocking, result.then(() => {}, () => {})])
    },
  }
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
 * Runs one scenario with every client at once under one injected fault and returns what each saw.
 * Leaves the server and proxy as it found them (wait_timeout restored, proxy passing).
 */
export async function runScenario<M extends string = DemoMode>(
  name: ScenarioName,
  env: FaultEnv,
  options: ScenarioOptions<M> = {},
): Promise<ScenarioResult<M>> {
  const { server, proxy } = env
  const modes = options.modes ?? (['plain', 'lifespan'] as unknown as readonly M[])
  const onServer = name === 'idle' || name === 'restart'
  const viaProxy = name === 'stall' || name === 'interaction-timeout'
  const url = onServer ? server.url : viaProxy ? throughProxy(env.url, proxy) : env.url
  const releaseFile = join(tmpdir(), `mysql-lifespan-fault-${process.pid}-${++runs}`)
  const base = { url, pool: POOL, queries: QUERIES, blockMs: BLOCK_MS[name], hangMs: hangMs(name), releaseFile }

  if (name === 'idle') await server.query('SET GLOBAL wait_timeout = 2')
  // Opened before the clients block, so the KILLs land well inside their busy window.
  const killer = name === 'kill' ? await mysql.createConnection({ uri: env.url }) : undefined
  try {
    const clients = modes.map((mode) =>
      startClient(options.clientScript ?? demoClient, { ...base, mode, sql: `SELECT 1 AS probe_${mode}` }, options.onSpawn),
    )
    const ids = await Promise.all(clients.map((c) => c.warm))
    // Every client's loop is blocked before the fault: none can see it happen.
    await Promise.all(clients.map((c) => c.go()))

    switch (name) {
      case 'idle':
        break // the server resets the sessions by itself after 2 s
      case 'kill':
        await pipeline(killer!, ids.flat().map((id) => `KILL CONNECTION ${id}`))
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
          for (const mode of modes) void proxy.injectInteractionTimeout((sql) => sql.includes(`probe_${mode}`)).catch(() => {})
        }
        break
    }
    // The fault is in place: the blocked clients may go on once their minimum block is over.
    await writeFile(releaseFile, '')
    const results = await Promise.all(clients.map((c) => c.result))
    return Object.assign({ name }, Object.fromEntries(modes.map((m, i) => [m, results[i]]))) as ScenarioResult<M>
  } finally {
    await rm(releaseFile, { force: true })
    killer?.destroy()
    if (name === 'idle') await server.query('SET GLOBAL wait_timeout = 28800')
    if (name === 'stall') proxy.resume()
  }
}
