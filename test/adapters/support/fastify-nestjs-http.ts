/**
 * HTTP helpers shared by the Fastify and NestJS adapter tests: a JSON request, a request
 * body sent in two parts, polling, the compiled example apps run as child processes, and the
 * SIGTERM check both examples share.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DisposableServer, startDisposableServer } from '../../support/disposable-server.js'
import { sleep } from '../../support/env.js'

/** GETs (or POSTs `body` as JSON to) `url` and returns the status and parsed JSON body. */
export async function getJson<T = Record<string, unknown>>(url: string, init?: { body?: unknown; signal?: AbortSignal }): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    method: init?.body === undefined ? 'GET' : 'POST',
    headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init?.signal,
  })
  const text = await response.text()
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T }
}

/**
 * POSTs a JSON body whose second half arrives `delayMs` after the headers, so the server
 * parses it in a later turn of the event loop than the one that ran its first hooks.
 */
export function postJsonSlowly<T = Record<string, unknown>>(url: string, body: unknown, delayMs = 100): Promise<{ status: number; body: T }> {
  const text = JSON.stringify(body)
  const half = Math.floor(text.length / 2)
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (data += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) as T }))
    })
    req.on('error', reject)
    req.flushHeaders()
    req.write(text.slice(0, half))
    setTimeout(() => req.end(text.slice(half)), delayMs)
  })
}

/** Polls `predicate` every 20 ms until it holds; fails with `what` after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** A compiled example app running as a child process. */
export interface ExampleProcess {
  readonly child: ChildProcess
  /** Base URL, from the `listening on <port>` line. */
  readonly url: string
  /** Resolves with the exit code (or the signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Everything the process wrote to stdout and stderr so far, for failure messages. */
  output(): string
}

/** Starts `examples/.build/<name>/app.js` (built by `npm run build:examples`) on a free port. */
export async function startExample(name: string, mysqlUrl: string): Promise<ExampleProcess> {
  const path = fileURLToPath(new URL(`../../../examples/.build/${name}/app.js`, import.meta.url))
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build && npm run build:examples\` first`)
  const child = spawn(process.execPath, [path], { env: { ...process.env, MYSQL_URL: mysqlUrl, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  let port: string | undefined
  await until(() => (port = /listening on (\d+)/.exec(output)?.[1]) !== undefined || child.exitCode !== null, 'the example to listen', 15_000)
  if (port === undefined) throw new Error(`the example exited before listening:\n${output}`)
  return { child, url: `http://127.0.0.1:${port}`, exited, output: () => output }
}

/**
 * The SIGTERM check shared by the Fastify and NestJS examples: a request in flight when the
 * signal arrives completes, the process exits 0 on its own, promptly (not held by keep-alive
 * sockets), and the server is left with no connection of it.
 */
export function describeExampleSigterm(name: string): void {
  describe(`${name} example: SIGTERM`, () => {
    let server: DisposableServer
    beforeAll(async () => {
      server = await startDisposableServer()
    })
    afterAll(async () => {
      await server?.stop()
    })

    it('drains an in-flight request, exits with code 0 and leaves no connection open', async () => {
      expect(await server.connectionIds()).toEqual([])
      const example = await startExample(name, server.url)
      try {
        const { body } = await getJson<{ id: number }>(`${example.url}/id`)
        expect(await server.connectionIds()).toContain(body.id)
        const slow = getJson(`${example.url}/slow`)
        const sleeping = async (): Promise<boolean> =>
          ((await server.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE "SELECT SLEEP%"')) as Array<{ n: number }>)[0]!.n > 0
        await until(sleeping, 'the slow statement to run')
        const signalled = Date.now()
        example.child.kill('SIGTERM')
        expect(await slow).toEqual({ status: 200, body: { slept: 0.5 } })
        expect(await example.exited, example.output()).toEqual({ code: 0, signal: null })
        // Not held for the framework's keep-alive timeout (72 s on Fastify) by the drained request's socket.
        expect(Date.now() - signalled).toBeLessThan(2_500)
        await until(async () => (await server.connectionIds()).length === 0, 'the server to forget the example connections', 2_000)
      } finally {
        example.child.kill('SIGKILL')
      }
    })
  })
}
