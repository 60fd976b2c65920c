/**
 * @module
 * A network path through a namespace of the soak's own, where packets can be dropped by the
 * kernel (not by a userland proxy): the client's own TCP socket then sees silence, retransmits,
 * and recovers by itself once the drop ends, unlike the fault proxy's stall whose sockets stay
 * dead for good.
 *
 * Layout (every address is on a veth pair the soak creates; nothing leaves the machine):
 *
 *   client ──► relay in netns (10.213.a.b+2) ──veth──► forwarder (10.213.a.b+1, root ns) ──► target (127.0.0.1)
 *
 * The relay must live inside the namespace so the client's packets cross the veth; the
 * forwarder brings them back to a loopback-only target (the fault proxy). A drop is a qdisc on
 * the namespace side of the veth: `netem loss 100%` where the kernel has netem, else
 * `pfifo limit 0` (a queue that holds nothing: every packet leaving the namespace is dropped at
 * enqueue). Dropping what leaves the namespace blackholes both directions in effect: the
 * client's bytes arrive but are never acknowledged, forwarded or answered.
 *
 * Needs root, `ip` (iproute2) with netns and veth support, and `tc`. When any of that is
 * missing, {@link openKernelPath} says why and the soak runs without kernel-level drops.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { isAlive } from '../support/disposable-server.js'

/** An open kernel path; see {@link openKernelPath}. */
export interface KernelPath {
  /** Where the client connects: the relay inside the namespace. */
  readonly host: string
  readonly port: number
  /** The namespace's name, for messages. */
  readonly namespace: string
  /** The qdisc used for drops, as passed to `tc`. */
  readonly mechanism: string
  /** Starts dropping every packet that leaves the namespace. */
  drop(): Promise<void>
  /** Stops dropping; TCP retransmissions then recover the connections. */
  restore(): Promise<void>
  /** Stops both relays and deletes the namespace (and with it the veth pair). Idempotent. */
  close(): Promise<void>
}

/** What {@link openKernelPath} returns: a path, or the reason there is none. */
export type KernelPathResult = { path: KernelPath; skipped?: undefined } | { path?: undefined; skipped: string }

const PREFIX = 'mlchaos-'
const READY_TIMEOUT_MS = 5_000

/**
 * A TCP relay, run as `node -e` so it needs no file on disk (the namespace side could not run
 * a TypeScript file anyway). Closing its stdin ends it, so it dies with the soak. Errors become
 * resets on the other side, a close becomes a close: the client sees what the far end did.
 */
const RELAY_SOURCE = `
const net = require('node:net')
const cfg = JSON.parse(process.env.CHAOS_RELAY)
const reset = (s) => { try { s.resetAndDestroy() } catch { s.destroy() } }
const server = net.createServer((client) => {
  const up = net.connect({ host: cfg.targetHost, port: cfg.targetPort })
  client.setNoDelay(true)
  up.setNoDelay(true)
  client.on('error', () => reset(up))
  up.on('error', () => reset(client))
  const close = (s) => () => { s.end(); setTimeout(() => s.destroy(), 1000).unref() }
  client.on('close', close(up))
  up.on('close', close(client))
  client.pipe(up)
  up.pipe(client)
})
server.on('error', (e) => { process.stderr.write(String(e) + '\\n'); process.exit(1) })
server.listen(0, cfg.listenHost, () => process.stdout.write('ready ' + server.address().port + '\\n'))
process.stdin.on('data', () => {})
process.stdin.on('end', () => process.exit(0))
`

function run(file: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      resolve({ ok: !error, output: `${stdout}${stderr}`.trim() || (error?.message ?? '') })
    })
  })
}

async function must(file: string, args: string[]): Promise<void> {
  const result = await run(file, args)
  if (!result.ok) throw new Error(`${file} ${args.join(' ')}: ${result.output}`)
}

/** Namespaces left by a soak process that died without cleaning up (SIGKILL, OOM). */
async function reapAbandoned(): Promise<void> {
  const list = await run('ip', ['netns', 'list'])
  if (!list.ok) return
  for (const line of list.output.split('\n')) {
    const name = line.split(/\s+/)[0] ?? ''
    const pid = Number.parseInt(name.slice(PREFIX.length).split('-')[0] ?? '', 10)
    if (name.startsWith(PREFIX) && Number.isInteger(pid) && !isAlive(pid)) await run('ip', ['netns', 'del', name])
  }
}

/** A free /30 in 10.213.0.0/16, chosen from the pid so parallel soaks rarely collide, checked against the host's addresses. */
async function pickSubnet(seed: number): Promise<{ outside: string; inside: string }> {
  const taken = (await run('ip', ['-o', '-4', 'addr', 'show'])).output
  for (let i = 0; i < 16_384; i++) {
    const index = (seed + i) % 16_384
    const third = index >> 6
    const fourth = (index & 63) * 4
    const outside = `10.213.${third}.${fourth + 1}`
    const inside = `10.213.${third}.${fourth + 2}`
    if (!taken.includes(`10.213.${third}.${fourth + 1}/`) && !taken.includes(`10.213.${third}.${fourth + 2}/`)) return { outside, inside }
  }
  throw new Error('no free /30 in 10.213.0.0/16')
}

function startRelay(command: string[], config: { listenHost: string; targetHost: string; targetPort: number }): Promise<{ child: ChildProcess; port: number }> {
  const [file, ...args] = [...command, process.execPath, '-e', RELAY_SOURCE]
  const child = spawn(file as string, args, {
    env: { ...process.env, CHAOS_RELAY: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => fail(new Error(`relay not ready after ${READY_TIMEOUT_MS} ms: ${output}`)), READY_TIMEOUT_MS)
    const fail = (error: Error): void => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(error)
    }
    child.once('error', fail)
    child.once('exit', (code) => fail(new Error(`relay exited (${String(code)}): ${output}`)))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /ready (\d+)/.exec(output)
      if (!match) return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      child.removeAllListeners('error')
      child.on('error', () => undefined)
      resolve({ child, port: Number(match[1]) })
    })
  })
}

let sequence = 0

/**
 * Builds the namespace, the veth pair and both relays in front of `target`, after checking that
 * a drop qdisc can be installed. Resolves `{ skipped }` with the reason when the machine does
 * not allow it (not Linux, not root, no `ip`/`tc`, no veth, no usable qdisc).
 */
export async function openKernelPath(target: { host: string; port: number }): Promise<KernelPathResult> {
  if (process.platform !== 'linux') return { skipped: `not Linux (${process.platform})` }
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { skipped: 'not running as root (network namespaces need CAP_NET_ADMIN)' }
  for (const tool of ['ip', 'tc']) {
    if (!(await run(tool, ['-V'])).ok) return { skipped: `\`${tool}\` (iproute2) is not installed` }
  }
  await reapAbandoned()
  const k = sequence++
  const namespace = `${PREFIX}${process.pid}-${k}`
  const outsideIf = `mlc${process.pid}o${k}`.slice(0, 15)
  const insideIf = `mlc${process.pid}i${k}`.slice(0, 15)
  const children: ChildProcess[] = []
  let created = false
  const cleanupSync = (): void => {
    for (const child of children) child.kill('SIGKILL')
    if (created) spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore', timeout: 5_000 })
  }
  try {
    const add = await run('ip', ['netns', 'add', namespace])
    if (!add.ok) return { skipped: `\`ip netns add\` failed: ${add.output}` }
    created = true
    process.on('exit', cleanupSync)
    const { outside, inside } = await pickSubnet(process.pid * 7 + k)
    const veth = await run('ip', ['link', 'add', outsideIf, 'type', 'veth', 'peer', 'name', insideIf, 'netns', namespace])
    if (!veth.ok) throw new Skip(`cannot create a veth pair: ${veth.output}`)
    await must('ip', ['-n', namespace, 'link', 'set', 'lo', 'up'])
    await must('ip', ['addr', 'add', `${outside}/30`, 'dev', outsideIf])
    await must('ip', ['link', 'set', outsideIf, 'up'])
    await must('ip', ['-n', namespace, 'addr', 'add', `${inside}/30`, 'dev', insideIf])
    await must('ip', ['-n', namespace, 'link', 'set', insideIf, 'up'])

    const tc = (args: string[]): Promise<{ ok: boolean; output: string }> => run('ip', ['netns', 'exec', namespace, 'tc', 'qdisc', ...args])
    let mechanism: string | undefined
    const tried: string[] = []
    for (const candidate of [['netem', 'loss', '100%'], ['pfifo', 'limit', '0']]) {
      const result = await tc(['add', 'dev', insideIf, 'root', ...candidate])
      if (result.ok) {
        await tc(['del', 'dev', insideIf, 'root'])
        mechanism = candidate.join(' ')
        break
      }
      tried.push(`${candidate.join(' ')}: ${result.output}`)
    }
    if (mechanism === undefined) throw new Skip(`no qdisc can drop packets here (${tried.join('; ')})`)

    const forwarder = await startRelay([], { listenHost: outside, targetHost: target.host, targetPort: target.port })
    children.push(forwarder.child)
    const relay = await startRelay(['ip', 'netns', 'exec', namespace], { listenHost: inside, targetHost: outside, targetPort: forwarder.port })
    children.push(relay.child)

    let closing: Promise<void> | undefined
    const drop = mechanism.split(' ')
    return {
      path: {
        host: inside,
        port: relay.port,
        namespace,
        mechanism: `tc qdisc ${mechanism}`,
        drop: () => must('ip', ['netns', 'exec', namespace, 'tc', 'qdisc', 'replace', 'dev', insideIf, 'root', ...drop]),
        restore: async () => {
          await tc(['del', 'dev', insideIf, 'root'])
        },
        close: () => {
          closing ??= (async () => {
            await Promise.all(children.map((child) => stopChild(child)))
            await run('ip', ['netns', 'del', namespace])
            created = false
            process.off('exit', cleanupSync)
          })()
          return closing
        },
      },
    }
  } catch (error) {
    cleanupSync()
    created = false
    process.off('exit', cleanupSync)
    if (error instanceof Skip) return { skipped: error.message }
    return { skipped: `setting up the namespace failed: ${(error as Error).message}` }
  }
}

class Skip extends Error {}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 1_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.stdin?.end()
  })
}
