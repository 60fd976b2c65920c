/**
 * The behaviour every HTTP adapter (Express, Koa, Hono, node:http) must show, as one suite each
 * test file runs against its own app: a scope per request, distinct connections for concurrent
 * requests, release when the response ends or the client aborts, 503 during shutdown, surviving
 * a server-side idle close, a graceful server close, and a clean SIGTERM of the compiled example.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Lifespan, ShutdownReport } from '../../../src/index.js'
import { type DisposableServer, startDisposableServer } from '../../support/disposable-server.js'
import { blockEventLoop, lifespanFor, sleep } from '../../support/env.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))

/** A running app under test. */
export interface RunningApp {
  /** `http://127.0.0.1:<port>` */
  url: string
  /** Graceful close through the adapter's helper (`closeGracefully`). */
  closeGracefully(options: { timeoutMs: number }): Promise<ShutdownReport>
  /** Closes the server at once (after a test). */
  close(): Promise<void>
}

/** What a test file provides: how to serve {@link route} with its framework and adapter. */
export interface WebAdapterUnderTest {
  /** Folder of the example under examples/ (compiled to examples/.build/<example>/app.js). */
  example: string
  /** Starts an app on an ephemeral port whose every GET answers `route(lifespan, path)` as JSON. */
  start(lifespan: Lifespan): Promise<RunningApp>
}

/**
 * The test routes, framework-free: `/scope` reports the scope, `/id` the connection (and sleeps a
 * little so concurrent requests overlap), `/slow` sleeps half a second, `/` runs SELECT 1.
 */
export async function route(lifespan: Lifespan, path: string): Promise<unknown> {
  const scope = lifespan.currentScope()
  if (path === '/scope') return { scope }
  if (path === '/id') {
    const [rows] = await lifespan.db().query<Array<{ id: number } & Record<string, unknown>>>('SELECT CONNECTION_ID() AS id, SLEEP(0.2) AS s')
    return { id: rows[0]?.id, scope }
  }
  if (path === '/slow') {
    await lifespan.db().query('SELECT SLEEP(0.5) AS s')
    return { slept: true }
  }
  const [rows] = await lifespan.db().query('SELECT 1 AS ok')
  return rows
}

/** Waits until `check()` holds, polling every 20 ms, or fails after `ms`. */
export async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`)
    await sleep(20)
  }
}

const inUse = (lifespan: Lifespan): number => lifespan.stats().aliases.default?.inUse ?? -1

/** A compiled example running as a child process. */
export interface ExampleProcess {
  /** The port it printed (`listening on <port>`), or 0 when it prints none. */
  port: number
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  kill(signal: NodeJS.Signals): void
  /** Writes to its stdin. */
  send(text: string): void
  /** Everything it printed so far, stdout and stderr. */
  output(): string
}

/**
 * Spawns a compiled example with PORT=0 and resolves once its output matches `ready`
 * (by default `listening on <port>`).
 */
export async function spawnExample(name: string, env: Record<string, string>, ready = /listening on \d+/): Promise<ExampleProcess> {
  const file = `examples/.build/${name}/app.js`
  if (!existsSync(`${root}/${file}`)) throw new Error(`${file} is missing: run \`npm run build && npm run build:examples\` first`)
  const child = spawn(process.execPath, [file], { cwd: root, env: { ...process.env, PORT: '0', ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  child.stderr.on('data', (d: Buffer) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  await eventually(() => ready.test(out) || child.exitCode !== null, 10_000, `${name} example ready (${out})`)
  if (!ready.test(out)) throw new Error(`${name} example did not start: ${out}`)
  return {
    port: Number(/listening on (\d+)/.exec(out)?.[1] ?? 0),
    exited,
    kill: (signal) => child.kill(signal),
    send: (text) => child.stdin.write(text),
    output: () => out,
  }
}

/** Registers the shared adapter suite in the calling test file. */
export function describeWebAdapter(name: string, adapter: WebAdapterUnderTest): void {
  describe(`${name} adapter`, () => {
    let disposable: DisposableServer
    const apps: RunningApp[] = []
    const start = async (lifespan: Lifespan): Promise<RunningApp> => {
      const app = await adapter.start(lifespan)
      apps.push(app)
      return app
    }
    const getJson = async (url: string, init?: RequestInit): Promise<{ status: number; body: any }> => {
      const res = await fetch(url, init)
      const text = await res.text()
      return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text }
    }

    beforeAll(async () => {
      disposable = await startDisposableServer({ waitTimeout: 2 })
    })
    afterAll(async () => {
      await disposable?.stop()
    })
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.close()))
    })

    it('runs each request in a task scope of its own', async () => {
      const lifespan = lifespanFor()
      const app = await start(lifespan)
      const { status, body } = await getJson(`${app.url}/scope`)
      expect(status).toBe(200)
      expect(body.scope).toMatchObject({ kind: 'task' })
      expect(lifespan.currentScope()).toBeUndefined()
    })

    it('gives concurrent requests distinct scopes and connections', async () => {
      const lifespan = lifespanFor()
      const app = await start(lifespan)
      const [a, b] = await Promise.all([getJson(`${app.url}/id`), getJson(`${app.url}/id`)])
      expect(a.status).toBe(200)
      expect(b.status).toBe(200)
      expect(a.body.scope.kind).toBe('task')
      expect(a.body.scope.id).not.toBe(b.body.scope.id)
      expect(a.body.id).not.toBe(b.body.id)
    })

    it('releases the connection when the response ends', async () => {
      const lifespan = lifespanFor()
      const app = await start(lifespan)
      expect((await getJson(`${app.url}/id`)).status).toBe(200)
      await eventually(() => inUse(lifespan) === 0 && lifespan.stats().activeScopes === 0, 1_000, 'connection released')
    })

    it('releases the connection within a second when the client aborts mid-request', async () => {
      const lifespan = lifespanFor()
      const app = await start(lifespan)
      const abort = new AbortController()
      const request = fetch(`${app.url}/slow`, { signal: abort.signal }).catch((err: Error) => err)
      await eventually(() => inUse(lifespan) === 1, 2_000, 'the slow request holds a connection')
      abort.abort()
      expect(await request).toBeInstanceOf(Error)
      const aborted = Date.now()
      await eventually(() => inUse(lifespan) === 0 && lifespan.stats().activeScopes === 0, 1_000, 'connection released after the abort')
      expect(Date.now() - aborted).toBeLessThan(1_000)
    })

    it('answers 503 to requests arriving once shutdown has begun, and lets the in-flight one finish', async () => {
      const lifespan = lifespanFor()
      const app = await start(lifespan)
      const slow = getJson(`${app.url}/slow`)
      await eventually(() => inUse(lifespan) === 1, 2_000, 'the slow request holds a connection')
      const stopping = lifespan.shutdown({ timeoutMs: 5_000 })
      const late = await fetch(`${app.url}/`)
      expect(late.status).toBe(503)
      expect(late.headers.get('connection')).toBe('close')
      await late.text()
      expect((await slow).status).toBe(200)
      expect((await stopping).clean).toBe(true)
    })

    it('serves every request after the server closed idle connections (wait_timeout) while the loop was blocked', async () => {
      const lifespan = lifespanFor({ url: disposable.url })
      const app = await start(lifespan)
      const warm = await Promise.all([1, 2, 3, 4].map(() => getJson(`${app.url}/id`)))
      expect(new Set(warm.map((r) => r.body.id)).size).toBe(4)
      // The server drops the pooled connections after 2 s; this process is busy and notices nothing.
      blockEventLoop(3_000)
      const after = await Promise.all(Array.from({ length: 10 }, () => getJson(`${app.url}/`)))
      expect(after.map((r) => r.status)).toEqual(Array(10).fill(200))
      expect(after[0]?.body).toEqual([{ ok: 1 }])
    })

    it('closeGracefully drains the in-flight request, closes keep-alive sockets at once, and shuts down', async () => {
      const lifespan = lifespanFor()
      const app = await start(lifespan)
      // A keep-alive socket idle in the client's pool, and one busy with /slow.
      expect((await getJson(`${app.url}/`)).status).toBe(200)
      const slow = fetch(`${app.url}/slow`)
      await eventually(() => inUse(lifespan) === 1, 2_000, 'the slow request holds a connection')
      const started = Date.now()
      const report = await app.closeGracefully({ timeoutMs: 5_000 })
      const res = await slow
      expect(res.status).toBe(200)
      expect(res.headers.get('connection')).toBe('close')
      // Far below Node's 5 s keepAliveTimeout: the sockets were closed as soon as they were idle.
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(report.clean).toBe(true)
      expect(lifespan.state).toBe('stopped')
      await expect(fetch(`${app.url}/`)).rejects.toThrow()
    })

    it('SIGTERM to the compiled example drains an in-flight /slow, exits 0, and leaves no connection open', async () => {
      const child = await spawnExample(adapter.example, { MYSQL_URL: disposable.url })
      const base = `http://127.0.0.1:${child.port}`
      const first = await getJson(`${base}/id`)
      expect(first.status).toBe(200)
      const slow = getJson(`${base}/slow`)
      await sleep(150)
      child.kill('SIGTERM')
      expect(await slow).toMatchObject({ status: 200 })
      expect(await child.exited).toBe(0)
      expect(child.output()).not.toMatch(/Error/)
      expect(await disposable.connectionIds()).toEqual([])
    })
  })
}
