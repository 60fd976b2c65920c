/**
 * The compiled `mysql-lifespan doctor` (dist/cli/main.js, built by `npm test`'s pretest) run as
 * a child process: against the shared server (read-only statements only), against a
 * disposable server configured badly on purpose, and against nothing at all.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Finding } from '../../src/cli/doctor/finding.js'
import { startDisposableServer, type DisposableServer } from '../support/disposable-server.js'
import { startFaultProxy } from '../support/fault-proxy.js'
import { mysqlUrl } from '../support/env.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function doctor(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const out = spawnSync(process.execPath, ['dist/cli/main.js', 'doctor', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, MYSQL_URL: '', ...env },
    timeout: 20_000,
  })
  return { code: out.status, stdout: out.stdout, stderr: out.stderr }
}

interface Report {
  target: string
  findings: Finding[]
  counts: Record<string, number>
  exitCode: number
}

function report(run: Run): Report {
  return JSON.parse(run.stdout) as Report
}

const level = (r: Report, id: string): string | undefined => r.findings.find((f) => f.id === id)?.level

describe('doctor against the shared server', () => {
  it('reports every check, exits 0, and reads MYSQL_URL when no URL is given', () => {
    const run = doctor(['--json'], { MYSQL_URL: mysqlUrl() })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const r = report(run)
    expect(r.exitCode).toBe(0)
    expect(r.counts.error).toBe(0)
    const ids = r.findings.map((f) => f.id)
    for (const id of ['server', 'wait-timeout', 'max-age', 'alive-bypass', 'max-connections', 'max-user-connections', 'net-timeouts', 'max-connect-errors', 'tls', 'read-only', 'replication', 'privileges']) {
      expect(ids).toContain(id)
    }
    expect(r.findings.find((f) => f.id === 'server')?.title).toMatch(/^(MariaDB|MySQL) \d+\.\d+/)
  })

  it('prints a plain-text report without colour codes when stdout is not a terminal', () => {
    const run = doctor([mysqlUrl()])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('mysql-lifespan doctor: ')
    expect(run.stdout).toMatch(/\n(ok|warn) +max_connections \d+, 1 instance × pool of 10 = 10/)
    expect(run.stdout).toMatch(/0 error\(s\), \d+ warning\(s\), \d+ ok\n$/)
    expect(run.stdout).not.toContain('\x1b[')
  })
})

describe('doctor against a badly configured server', () => {
  let server: DisposableServer
  let appUrl: string
  const password = 'pw-secret-123'

  beforeAll(async () => {
    server = await startDisposableServer({
      waitTimeout: 20,
      maxConnections: 15,
      extraArgs: ['--net-write-timeout=5', '--max-connect-errors=3', '--read-only'],
    })
    await server.query(`CREATE USER 'app'@'%' IDENTIFIED BY '${password}' WITH MAX_USER_CONNECTIONS 12`)
    await server.query("GRANT SELECT, INSERT, UPDATE, DELETE ON test.* TO 'app'@'%'")
    appUrl = `mysql://app:${password}@127.0.0.1:${server.port}/test`
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('two instances of a pool of 10: errors for both connection limits, warnings for the rest, exit 1, password never shown', () => {
    const run = doctor([appUrl, '--instances', '2', '--json'])
    expect(run.code).toBe(1)
    const r = report(run)
    expect(r.exitCode).toBe(1)
    expect(r.target).toBe(`mysql://app:***@127.0.0.1:${server.port}/test`)
    expect(level(r, 'max-connections')).toBe('error') // 20 > 15
    expect(level(r, 'max-user-connections')).toBe('error') // 20 > 12, the account's own limit
    expect(level(r, 'wait-timeout')).toBe('warn') // 20 s
    expect(level(r, 'net-timeouts')).toBe('warn') // net_write_timeout 5
    expect(level(r, 'max-connect-errors')).toBe('warn') // 3
    expect(level(r, 'read-only')).toBe('warn')
    expect(level(r, 'privileges')).toBe('ok') // no SUPER / READ ONLY ADMIN: read_only stops its writes
    expect(level(r, 'replication')).toBe('ok') // unknown to this account, which the library does not need
    expect(r.findings.find((f) => f.id === 'max-connections')?.fix).toMatch(/max_connections to at least \d+|connectionLimit to \d+/)
    expect(run.stdout + run.stderr).not.toContain(password)
  })

  it('the same server fits one instance of a pool of 5: warnings only, exit 0', () => {
    const run = doctor([appUrl, '--pool', '5', '--json'])
    expect(run.code).toBe(0)
    const r = report(run)
    expect(level(r, 'max-connections')).toBe('ok')
    expect(level(r, 'max-user-connections')).toBe('ok')
    expect(r.counts.error).toBe(0)
    expect(r.counts.warn).toBeGreaterThanOrEqual(4)
  })

  it('reads the pool size from the URL and warns root that read_only does not stop it', () => {
    const run = doctor([`${server.url}?connectionLimit=14`, '--json'])
    const r = report(run)
    expect(level(r, 'max-connections')).toBe('warn') // 14 of 15: no headroom
    expect(level(r, 'privileges')).toBe('warn')
    expect(run.code).toBe(0)
  })

  it('the human report marks the errors and says what to change', () => {
    const run = doctor([appUrl, '--instances', '2'])
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/ERROR +max_connections 15, 2 instances × pool of 10 = 20/)
    expect(run.stdout).toContain('→ Raise max_connections')
    expect(run.stdout).toMatch(/2 error\(s\), \d+ warning\(s\)/)
    expect(run.stdout).not.toContain(password)
  })
})

describe('doctor without a usable server', () => {
  it('an address where nothing listens: exit 2, one clear line, no stack, no password', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number }
        s.close(() => resolve(port))
      })
    })
    const run = doctor([`mysql://app:hunter2@127.0.0.1:${port}/test`])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(`mysql-lifespan doctor: cannot examine mysql://app:***@127.0.0.1:${port}/test: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}\n`)
  })

  it('a server that goes silent after the handshake: exit 2 within the timeout, one clear line, no hang', async () => {
    const shared = new URL(mysqlUrl())
    const proxy = await startFaultProxy({ host: shared.hostname, port: Number(shared.port || 3306) })
    try {
      const held = proxy.holdNext((sql) => sql.startsWith('SHOW GLOBAL VARIABLES'))
      // Asynchronous: the proxy runs in this process. Killed after 20 s if it hangs (code null).
      const child = spawn(process.execPath, ['dist/cli/main.js', 'doctor', '--connect-timeout-ms', '1000', proxy.url()], {
        cwd: root,
        env: { ...process.env, MYSQL_URL: '' },
        timeout: 20_000,
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d))
      child.stderr.on('data', (d: Buffer) => (stderr += d))
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
      await held
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' })
      expect(stderr).toMatch(/^mysql-lifespan doctor: cannot examine mysql:\/\/root@127\.0\.0\.1:\d+\/test: ETIMEDOUT: the server accepted the connection but did not answer SHOW GLOBAL VARIABLES … within 1000 ms\n$/)
    } finally {
      await proxy.close()
    }
  })

  it('a bad URL, a bad flag, no URL at all: exit 2 with a message, no stack', () => {
    for (const args of [['http://app:hunter2@db/x'], ['mysql://app:hunter2@db:port/x'], ['--pool', '0', 'mysql://db'], ['--nope'], []]) {
      const run = doctor(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr).toMatch(/^mysql-lifespan doctor: /)
      expect(run.stderr).not.toMatch(/\n\s+at /)
      expect(run.stderr).not.toContain('hunter2')
    }
  })
})
