/**
 * @module
 * A throwaway MariaDB server for tests that would wreck the shared one at 127.0.0.1:3306:
 * restarts, `SET GLOBAL`, killing every connection. Each server gets its own temp dir,
 * datadir, socket and TCP port, and runs as a child of the test process.
 *
 * Start-up cost is dominated by `mariadb-install-db` (about 0.7 s here), so an initialised
 * datadir is built once into a template under `os.tmpdir()` and copied for every server.
 * The template outlives the process on purpose: a later run reuses it, and its name carries
 * the mariadbd binary's size and mtime so a package upgrade builds a fresh one.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chown, mkdtemp, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import type { Connection } from 'mysql2/promise'

/** Options of {@link startDisposableServer}. */
export interface DisposableServerOptions {
  /** Server `wait_timeout` in seconds, passed as `--wait-timeout`. Default: MariaDB's (28800). */
  waitTimeout?: number
  /** Server `max_connections`, passed as `--max-connections`. Default: MariaDB's (151). */
  maxConnections?: number
  /** Extra mariadbd command-line arguments, appended last so they override ours. */
  extraArgs?: string[]
}

/** Options of {@link DisposableServer.restart}. */
export interface RestartOptions {
  /** How long the server stays down between its exit and the new start, in ms. Default 0. */
  downMs?: number
}

/** A running throwaway MariaDB server; see {@link startDisposableServer}. */
export interface DisposableServer {
  /** TCP port on 127.0.0.1; stays the same across {@link DisposableServer.restart}. */
  readonly port: number
  /** Always loopback: the server never listens anywhere else. */
  readonly host: '127.0.0.1'
  /** `mysql://root@127.0.0.1:<port>/test`: root has an empty password and `test` exists. */
  readonly url: string
  /** The server's temp dir (datadir, socket, `mariadbd.log`); removed by stop() and kill(). */
  readonly dir: string
  /** Path of the file receiving mariadbd's stdout and stderr, to read when a test is puzzling. */
  readonly logFile: string
  /** Process id of the running mariadbd, or undefined while it is down or after stop(). */
  readonly pid: number | undefined
  /**
   * Stops the server with SIGTERM (a clean shutdown, as an orchestrator would do), waits for
   * it to exit, optionally stays down, then starts it again on the same port and datadir and
   * waits until it accepts logins. Clients see the same sequence as a real restart.
   */
  restart(options?: RestartOptions): Promise<void>
  /** Graceful SIGTERM, SIGKILL if still alive after 10 s, then removes the temp dir. Idempotent. */
  stop(): Promise<void>
  /** SIGKILL at once (a crash: no shutdown, no FIN from the server), then the same cleanup as stop(). */
  kill(): Promise<void>
  /**
   * Runs one statement on a short-lived root connection of its own and returns mysql2's
   * first result element (rows for a SELECT, a ResultSetHeader otherwise).
   */
  query(sql: string, values?: unknown[]): Promise<unknown>
  /**
   * Ids of the client connections in `information_schema.PROCESSLIST`, ascending, without the
   * connection used to ask and without server threads; only `user`'s when given.
   */
  connectionIds(user?: string): Promise<number[]>
}

const MARIADBD = '/usr/sbin/mariadbd'
const INSTALL_DB = 'mariadb-install-db'
const SERVER_PREFIX = 'mysql-lifespan-server-'
const TEMPLATE_PREFIX = 'mysql-lifespan-template-'
/** Bump when the install arguments change, so an old template is not reused. */
const TEMPLATE_VERSION = 1
const TEMPLATE_READY = 'template.ready'
const OWNER_FILE = 'owner.pid'
const READY_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 10_000
const INSTALL_TIMEOUT_MS = 60_000
/** Refused connects cost about 1 ms, so polling this often is cheap and trims start-up. */
const POLL_MS = 25
/** A leftover dir with no owner file is only judged abandoned after this long. */
const ABANDONED_AFTER_MS = 10 * 60_000

/**
 * InnoDB sizes must match between install and every start of a copied datadir, so they live
 * here once. The small temp tablespace matters for speed: mariadbd writes ibtmp1 in full at
 * every start, and the 12 MiB default is a visible share of a restart.
 */
const SIZE_ARGS = [
  '--innodb-buffer-pool-size=32M',
  '--innodb-log-file-size=8M',
  '--innodb-temp-data-file-path=ibtmp1:1M:autoextend',
]

/** mariadbd children still running, with their server dirs, so an exiting test process can take them down with it. */
const live = new Map<ChildProcess, string>()
const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
let hooksInstalled = false

function killLiveSync(): void {
  const dirs: string[] = []
  for (const [child, dir] of live) {
    dirs.push(dir)
    try {
      child.kill('SIGKILL')
    } catch {
      // Already gone; nothing left to orphan.
    }
  }
  live.clear()
  // Only synchronous work runs in an 'exit' handler, hence rm via spawnSync. Files a dying
  // mariadbd still holds open are unlinked all the same; whatever survives is reaped later.
  if (dirs.length > 0) spawnSync('rm', ['-rf', '--', ...dirs], { stdio: 'ignore', timeout: 5_000 })
}

/**
 * Signals skip 'exit' handlers, so a Ctrl-C or a test runner's SIGTERM would otherwise orphan
 * mariadbd. The handler re-raises the signal only when nobody else listens, because adding a
 * listener disables Node's default "terminate" and we must not keep the process alive.
 */
function onExitSignal(signal: NodeJS.Signals): void {
  killLiveSync()
  if (process.listenerCount(signal) === 1) {
    uninstallHooks()
    process.kill(process.pid, signal)
  }
}

function installHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', killLiveSync)
  for (const signal of EXIT_SIGNALS) process.on(signal, onExitSignal)
}

/** Hooks come off once no server runs, so an idle test process keeps Node's default signal handling. */
function uninstallHooks(): void {
  if (!hooksInstalled) return
  hooksInstalled = false
  process.removeListener('exit', killLiveSync)
  for (const signal of EXIT_SIGNALS) process.removeListener(signal, onExitSignal)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`))
      } else {
        resolve(stdout)
      }
    })
  })
}

/** Whether process `pid` exists (ours or someone else's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM means the process exists but belongs to someone else: still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A TCP port free on 127.0.0.1 right now (the Galera cluster needs several per node). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the free port'))))
    })
  })
}

let templatePromise: Promise<string> | undefined

/** One build per process at most; a failure is forgotten so a later call can try again. */
function template(): Promise<string> {
  templatePromise ??= buildTemplate().catch((error: unknown) => {
    templatePromise = undefined
    throw error
  })
  return templatePromise
}

async function buildTemplate(): Promise<string> {
  const binary = await stat(MARIADBD)
  const key = `v${TEMPLATE_VERSION}-${binary.size}-${Math.trunc(binary.mtimeMs)}`
  const final = join(tmpdir(), `${TEMPLATE_PREFIX}${key}`)
  if (await exists(join(final, TEMPLATE_READY))) return final

  // Built aside and renamed into place, so parallel test workers never see a half-built
  // template: rename is atomic, and the loser of a race simply uses the winner's.
  const staging = await mkdtemp(join(tmpdir(), `${TEMPLATE_PREFIX}staging-`))
  try {
    // install-db drops to the mysql user, which must be able to enter the 0700 mkdtemp dir.
    await run('chown', ['mysql:mysql', staging], 10_000)
    await run(
      INSTALL_DB,
      [
        '--no-defaults',
        `--datadir=${join(staging, 'data')}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--user=mysql',
        ...SIZE_ARGS,
      ],
      INSTALL_TIMEOUT_MS,
    )
    await writeFile(join(staging, TEMPLATE_READY), `${new Date().toISOString()}\n`)
    try {
      await rename(staging, final)
    } catch (error) {
      if (!(await exists(join(final, TEMPLATE_READY)))) throw error
    }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
  return final
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

let reaped: Promise<void> | undefined

/**
 * The 'exit' hook cannot help when the test process itself is SIGKILLed (an OOM kill, a
 * runner's hard timeout), so each process first cleans up after dead predecessors: servers
 * whose owning Node process is gone are killed and their dirs removed. A mariadbd is only
 * killed when its command line names that dir, so a recycled pid is never hit.
 */
function reapAbandoned(): Promise<void> {
  reaped ??= (async () => {
    const root = tmpdir()
    const deadline = Date.now() + 5_000
    for (const name of await readdir(root)) {
      if (Date.now() > deadline) return
      const dir = join(root, name)
      try {
        if (name.startsWith(`${TEMPLATE_PREFIX}staging-`)) {
          if (Date.now() - (await stat(dir)).mtimeMs > ABANDONED_AFTER_MS) {
            await rm(dir, { recursive: true, force: true })
          }
          continue
        }
        if (!name.startsWith(SERVER_PREFIX)) continue
        const owner = Number.parseInt(await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => ''), 10)
        if (Number.isNaN(owner)) {
          // Between mkdtemp and writing the owner file a live dir has no owner yet.
          if (Date.now() - (await stat(dir)).mtimeMs <= ABANDONED_AFTER_MS) continue
        } else if (isAlive(owner)) {
          continue
        }
        const serverPid = Number.parseInt(await readFile(join(dir, 'mysqld.pid'), 'utf8').catch(() => ''), 10)
        if (!Number.isNaN(serverPid)) {
          const cmdline = await readFile(`/proc/${serverPid}/cmdline`, 'utf8').catch(() => '')
          if (cmdline.includes(`--datadir=${join(dir, 'data')}`)) process.kill(serverPid, 'SIGKILL')
        }
        await rm(dir, { recursive: true, force: true, maxRetries: 3 })
      } catch {
        // Best effort: a dir that resists cleanup must not stop this run's tests.
      }
    }
  })().catch(() => undefined)
  return reaped
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '')
  return text.split('\n').slice(-25).join('\n')
}

/**
 * Polls with real logins rather than a TCP probe: mariadbd opens its port before the grant
 * tables are loaded, and a test wants a server that answers queries, not one that listens.
 * The first successful connection also creates `test`, saving a round trip.
 */
async function waitReady(port: number, child: ChildProcess, exited: Promise<unknown>, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let childGone = false
  void exited.then(() => {
    childGone = true
  })
  let lastError: unknown
  while (Date.now() < deadline) {
    if (childGone) {
      throw new Error(`mariadbd (pid ${child.pid}) exited during start-up:\n${await logTail(logFile)}`)
    }
    let connection: Connection | undefined
    try {
      connection = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 2_000 })
      await connection.query('CREATE DATABASE IF NOT EXISTS test')
      await connection.end()
      return
    } catch (error) {
      lastError = error
      connection?.destroy()
    }
    await sleep(POLL_MS)
  }
  throw new Error(
    `mariadbd on port ${port} not ready after ${READY_TIMEOUT_MS} ms (last error: ${String(lastError)}):\n${await logTail(logFile)}`,
  )
}

class Server implements DisposableServer {
  readonly host = '127.0.0.1' as const
  readonly dir: string
  readonly logFile: string
  #port: number
  readonly #options: DisposableServerOptions
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()
  #stopping: Promise<void> | undefined

  constructor(dir: string, port: number, options: DisposableServerOptions) {
    this.dir = dir
    this.logFile = join(dir, 'mariadbd.log')
    this.#port = port
    this.#options = options
  }

  get port(): number {
    return this.#port
  }

  get url(): string {
    return `mysql://root@127.0.0.1:${this.#port}/test`
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** Start with retries on a port taken between freePort() and mariadbd's bind. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#launch()
        return
      } catch (error) {
        const portTaken = /Address already in use/.test(await logTail(this.logFile))
        if (!portTaken || attempt >= 3) throw error
        this.#port = await freePort()
      }
    }
  }

  async #launch(): Promise<void> {
    const args = [
      '--no-defaults',
      '--user=mysql',
      `--datadir=${join(this.dir, 'data')}`,
      `--socket=${join(this.dir, 'mysqld.sock')}`,
      `--port=${this.#port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${join(this.dir, 'mysqld.pid')}`,
      '--skip-log-bin',
      ...SIZE_ARGS,
    ]
    if (this.#options.waitTimeout !== undefined) args.push(`--wait-timeout=${this.#options.waitTimeout}`)
    if (this.#options.maxConnections !== undefined) args.push(`--max-connections=${this.#options.maxConnections}`)
    args.push(...(this.#options.extraArgs ?? []))

    // Appending keeps every run's log, so a failed restart still shows the first run's output.
    const log = await open(this.logFile, 'a')
    let child: ChildProcess
    try {
      child = spawn(MARIADBD, args, { stdio: ['ignore', log.fd, log.fd] })
    } finally {
      await log.close()
    }
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        live.delete(child)
        if (live.size === 0) uninstallHooks()
        resolve()
      })
      // Spawn failures arrive as 'error' without 'exit'; treat them as an exit.
      child.once('error', () => {
        live.delete(child)
        if (live.size === 0) uninstallHooks()
        resolve()
      })
    })
    live.set(child, this.dir)
    installHooks()
    this.#child = child
    this.#exited = exited
    try {
      await waitReady(this.#port, child, exited, this.logFile)
    } catch (error) {
      await this.#terminate('SIGKILL')
      throw error
    }
  }

  /** Sends the signal, escalating to SIGKILL after the grace period, and waits for the exit. */
  async #terminate(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal)
      const escalate = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
      await this.#exited
      clearTimeout(escalate)
    }
    this.#child = undefined
  }

  async restart(options: RestartOptions = {}): Promise<void> {
    if (this.#stopping) throw new Error('disposable server already stopped')
    await this.#terminate('SIGTERM')
    if (options.downMs !== undefined && options.downMs > 0) await sleep(options.downMs)
    await this.#launch()
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown('SIGTERM')
    return this.#stopping
  }

  kill(): Promise<void> {
    this.#stopping ??= this.#shutdown('SIGKILL')
    return this.#stopping
  }

  async #shutdown(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await this.#terminate(signal)
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 })
  }

  async query(sql: string, values?: unknown[]): Promise<unknown> {
    return this.#withAdmin(async (connection) => {
      const [result] = await connection.query(sql, values)
      return result
    })
  }

  async connectionIds(user?: string): Promise<number[]> {
    return this.#withAdmin(async (connection) => {
      // COMMAND 'Daemon' rows are server threads (event scheduler, replication): not clients,
      // and KILL on them fails, which would break "kill every connection" loops.
      let sql = "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'"
      const values: unknown[] = []
      if (user !== undefined) {
        sql += ' AND USER = ?'
        values.push(user)
      }
      const [rows] = await connection.query(`${sql} ORDER BY ID`, values)
      return (rows as Array<{ ID: number | string }>).map((row) => Number(row.ID))
    })
  }

  /**
   * A fresh connection per call keeps the admin session out of the tests' way: it never
   * shows up as a long-lived connection, never hits the tiny wait_timeout tests set, and a
   * KILL of every listed id cannot take it down mid-test.
   */
  async #withAdmin<T>(use: (connection: Connection) => Promise<T>): Promise<T> {
    const connection = await mysql.createConnection({
      host: '127.0.0.1',
      port: this.#port,
      user: 'root',
      password: '',
      database: 'test',
      connectTimeout: 5_000,
    })
    try {
      return await use(connection)
    } finally {
      // end() waits for the server and fails if the statement killed this very connection.
      await connection.end().catch(() => connection.destroy())
    }
  }
}

/**
 * Starts a private MariaDB server on a free loopback port and resolves once root can log in
 * over TCP and database `test` exists. Always pair with `stop()` (e.g. in `afterAll`); a
 * process exit or SIGINT/SIGTERM/SIGHUP also kills it, and a later run removes what a
 * SIGKILLed test process left behind.
 *
 * @example
 * const server = await startDisposableServer({ waitTimeout: 2 })
 * try {
 *   await server.query('SET GLOBAL max_connections = 5')
 *   await server.restart({ downMs: 500 })
 * } finally {
 *   await server.stop()
 * }
 */
export async function startDisposableServer(options: DisposableServerOptions = {}): Promise<DisposableServer> {
  await reapAbandoned()
  const [templateDir, dir] = await Promise.all([template(), mkdtemp(join(tmpdir(), SERVER_PREFIX))])
  try {
    // Owner first, so another process's reaper can tell this dir is in use.
    await writeFile(join(dir, OWNER_FILE), `${process.pid}\n`)
    const templateData = join(templateDir, 'data')
    // cp -a as root keeps the mysql ownership of every file; fs.cp would make them root's.
    await run('cp', ['-a', templateData, join(dir, 'data')], 30_000)
    // mariadbd, running as mysql, writes its socket and pid file here.
    const owner = await stat(templateData)
    await chown(dir, owner.uid, owner.gid)
    const server = new Server(dir, await freePort(), options)
    await server.start()
    return server
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/**
 * Resolves true when nothing accepts TCP connections on 127.0.0.1:`port`, which is how a test
 * checks that a stopped server really let go of its port.
 */
export function isPortClosed(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(false)
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(error.code === 'ECONNREFUSED')
    })
  })
}
