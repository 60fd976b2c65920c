import { type ChildProcessByStdio, execFileSync, spawn, spawnSync } from 'node:child_process'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { connectedAfter, lifespanFor, mysqlUrl, sleep } from '../support/env.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** A program of test/fixtures/ in a child process, against the test server, stdout and stderr piped. */
function spawnFixture(file: string): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [`test/fixtures/${file}`], { cwd: root, env: { ...process.env, MYSQL_URL: mysqlUrl() }, stdio: ['ignore', 'pipe', 'pipe'] })
}

describe('the package', () => {
  it('loads through require() from CommonJS (Node require(esm))', () => {
    const out = spawnSync(process.execPath, ['-e', "const m = require('mysql-lifespan'); console.log(typeof m.createLifespan, typeof m.LifespanError)"], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: '' },
    })
    expect(out.stderr).not.toMatch(/Error/)
    expect(out.stdout.trim()).toBe('function function')
  })
})

describe('run()', () => {
  it('on SIGTERM aborts main, drains, shuts down, exits 0 with nothing left server-side', async () => {
    const child = spawnFixture('run-main.mjs')
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    child.stderr.on('data', (d: Buffer) => (err += d))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child not ready: ${out} ${err}`)), 10_000)
      child.stdout.on('data', () => {
        if (out.includes('ready')) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    await sleep(200)
    child.kill('SIGTERM')
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    expect(err).toBe('') // nothing printed without a logger
    expect(code).toBe(0)
    expect(out).toContain('exitCode 0')
    const ids = (out.match(/ids ([\d,]+)/)?.[1] ?? '').split(',').filter(Boolean).map(Number)
    expect(ids.length).toBeGreaterThan(0)
    expect(await connectedAfter(ids, 2_000)).toEqual([])
  })

  it('a second signal destroys at once and leaves exit code 1', async () => {
    const child = spawnFixture('run-stuck.mjs')
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    for (let i = 0; i < 100 && !out.includes('ready'); i++) await sleep(50)
    await sleep(200)
    child.kill('SIGTERM')
    await sleep(300)
    expect(child.exitCode).toBeNull() // still draining: shutdownTimeoutMs is 60 s
    const started = Date.now()
    child.kill('SIGTERM')
    const code = await exited
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(code).toBe(1)
    expect(out).toContain('main rejected ERR_LIFESPAN_STOPPED')
    expect(out).toContain('state stopped exitCode 1')
  })

  it('sets exit code 1 and rethrows when main fails, after shutting down', async () => {
    const lifespan = lifespanFor()
    const before = process.exitCode
    try {
      await expect(lifespan.run(async () => {
        throw new Error('main failed')
      }, { signals: [] })).rejects.toThrow('main failed')
      expect(process.exitCode).toBe(1)
      expect(lifespan.state).toBe('stopped')
    } finally {
      process.exitCode = before
    }
  })
})

describe('secrets', () => {
  it('a wrong password rejects startup fast with mysql2\'s error, and the password appears nowhere', async () => {
    const lines: string[] = []
    const logger = {
      debug: (o: unknown, m?: string) => lines.push(JSON.stringify(o) + (m ?? '')),
      info: (o: unknown, m?: string) => lines.push(JSON.stringify(o) + (m ?? '')),
      warn: (o: unknown, m?: string) => lines.push(JSON.stringify(o) + (m ?? '')),
      error: (o: unknown, m?: string) => lines.push(JSON.stringify(o) + (m ?? '')),
    }
    const url = new URL(mysqlUrl())
    url.username = 'lifespan_nobody'
    url.password = 'Hunter2%40secret'
    const lifespan = lifespanFor({ url: url.toString(), logger, acquireTimeoutMs: 3_000 })
    const started = Date.now()
    const err = (await lifespan.startup().catch((e: unknown) => e)) as Error & { code?: string }
    expect(Date.now() - started).toBeLessThan(3_500)
    expect(err.code).toBe('ER_ACCESS_DENIED_ERROR')
    for (const text of [err.message, err.stack ?? '', JSON.stringify(err), JSON.stringify(lifespan.stats()), ...lines, String(lifespan)]) {
      expect(text).not.toContain('Hunter2')
      expect(text).not.toContain('secret')
    }
    await lifespan.shutdown()
  })
})

describe('TCP keepalive', () => {
  it('is armed on every pooled socket with a ~10 s idle delay, not the kernel\'s 2 h', async () => {
    const lifespan = lifespanFor()
    await lifespan.startup()
    const port = new URL(mysqlUrl()).port || '3306'
    const lines = execFileSync('ss', ['-Htnop', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(`pid=${process.pid},`))
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) {
      const timer = /timer:\(keepalive,([\d.]+)(ms|sec|min)/.exec(line)
      expect(timer, line).not.toBeNull()
      const seconds = Number(timer![1]) * ({ ms: 0.001, sec: 1, min: 60 } as const)[timer![2] as 'ms' | 'sec' | 'min']
      expect(seconds).toBeLessThanOrEqual(10)
    }
  })
})
