/**
 * @module
 * The fault injector of the soak. Faults run one after another, at random intervals, drawn
 * from a shuffled bag holding every kind once, so even a short run sees each kind:
 *
 * - `kill-some` / `kill-all`: `KILL CONNECTION` of random (or all) lifespan sessions, from root.
 * - `restart`: SIGTERM the server, stay down 0-800 ms, start it again on the same port.
 * - `stall`: the fault proxy blackholes every socket for 1-5 s (stalled sockets stay dead).
 * - `cut`: the next statement of a chosen kind (COMMIT, INSERT, UPDATE, SELECT, any) runs,
 *   then its reply is dropped and the socket destroyed: the client cannot know it ran.
 * - `reset`: the proxy resets every socket (TCP RST).
 * - `interaction-timeout`: MySQL 8's 4031 error packet instead of the reply, then a FIN.
 * - `kernel-drop`: every packet leaving the soak's network namespace is dropped for 1-5 s
 *   (only where {@link KernelPath} could be set up).
 */
import mysql from 'mysql2/promise'
import type { DisposableServer } from '../support/disposable-server.js'
import type { FaultProxy, SqlMatcher } from '../support/fault-proxy.js'
import type { KernelPath } from './kernel-path.js'

/** Every fault kind. */
export const FAULT_KINDS = ['kill-some', 'kill-all', 'restart', 'stall', 'cut', 'reset', 'interaction-timeout', 'kernel-drop'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** Options of {@link FaultInjector}. */
export interface FaultInjectorOptions {
  server: DisposableServer
  proxy: FaultProxy
  kernel: KernelPath | undefined
  /** Server user of the lifespan's sessions (the only ones killed). */
  user: string
  /** Pause between two faults, ms, drawn uniformly. */
  gapMs: [number, number]
  /** Length of a stall or a kernel drop, ms, drawn uniformly. */
  outageMs: [number, number]
  log: (line: string) => void
}

/** A statement kind a cut or a 4031 can target, with its matcher. COM_STMT_EXECUTE carries no SQL, so only `any` hits it. */
const TARGETS: Array<[string, SqlMatcher]> = [
  ['COMMIT', (sql) => /^\s*COMMIT\b/i.test(sql)],
  ['INSERT', (sql) => /^\s*INSERT\b/i.test(sql)],
  ['UPDATE', (sql) => /^\s*UPDATE\b/i.test(sql)],
  ['SELECT', (sql) => /^\s*SELECT\b/i.test(sql)],
  ['any', () => true],
]
/** COMMIT cuts are the ones that make a transfer's outcome unknown: draw them more often. */
const TARGET_WEIGHTS = [4, 2, 1, 1, 2]
/** How long an armed cut may wait for a matching statement before it is disarmed. */
const ARM_MS = 3_000

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const between = ([min, max]: [number, number]): number => Math.round(min + Math.random() * (max - min))

function weighted<T>(items: T[], weights: number[]): T {
  const total = weights.reduce((a, b) => a + b, 0)
  let roll = Math.random() * total
  for (const [i, item] of items.entries()) {
    roll -= weights[i] ?? 0
    if (roll <= 0) return item
  }
  return items[items.length - 1] as T
}

/** Runs faults until {@link FaultInjector.stop}; counts what it did. */
export class FaultInjector {
  /** How often each kind ran. */
  readonly counts = new Map<FaultKind, number>()
  /** Per kind, what it hit: `sessions` killed, `COMMIT fired`, ... */
  readonly details = new Map<FaultKind, Map<string, number>>()
  /**
   * Server thread ids that were alive when a stall began. The proxy swallows their client's
   * FIN, so their server sessions outlive the client by design (like a dropped NAT entry);
   * the after-shutdown check must not blame the library for them.
   */
  readonly stalledThreads = new Set<number>()
  /** Faults that could not be carried out (admin connection refused, ...), with the reason. */
  readonly failures: string[] = []
  #options: FaultInjectorOptions
  #stopped = false
  #loop: Promise<void> | undefined
  #bag: FaultKind[] = []
  #started = Date.now()
  #wake: (() => void) | undefined
  /** The fault in progress, or the last one, for context in diagnostics. */
  current = ''

  constructor(options: FaultInjectorOptions) {
    this.#options = options
  }

  /** Starts injecting until `untilMs` (epoch ms) or {@link FaultInjector.stop}. */
  start(untilMs: number): void {
    this.#started = Date.now()
    this.#loop = this.#run(untilMs)
  }

  /** Stops after the fault in progress and leaves the path clean (proxy resumed, drops removed). */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#wake?.()
    await this.#loop
    this.#options.proxy.resume()
    this.#options.proxy.setLatency(0)
    await this.#options.kernel?.restore()
  }

  #detail(kind: FaultKind, key: string, by = 1): void {
    let map = this.details.get(kind)
    if (!map) this.details.set(kind, (map = new Map()))
    map.set(key, (map.get(key) ?? 0) + by)
  }

  /** Counts and details by kind, in {@link FAULT_KINDS} order. */
  summary(): Record<string, { count: number; details: Record<string, number> }> {
    const out: Record<string, { count: number; details: Record<string, number> }> = {}
    for (const kind of FAULT_KINDS) {
      const count = this.counts.get(kind) ?? 0
      if (count > 0 || this.details.has(kind)) out[kind] = { count, details: Object.fromEntries(this.details.get(kind) ?? []) }
    }
    return out
  }

  /** An interruptible pause: stop() cuts it short. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
  }

  #next(): FaultKind {
    if (this.#bag.length === 0) {
      this.#bag = FAULT_KINDS.filter((kind) => kind !== 'kernel-drop' || this.#options.kernel !== undefined)
      for (let i = this.#bag.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1))
        ;[this.#bag[i], this.#bag[j]] = [this.#bag[j] as FaultKind, this.#bag[i] as FaultKind]
      }
    }
    return this.#bag.pop() as FaultKind
  }

  async #run(untilMs: number): Promise<void> {
    while (!this.#stopped) {
      await this.#pause(between(this.#options.gapMs))
      const left = untilMs - Date.now()
      if (this.#stopped || left <= 0) return
      const kind = this.#next()
      const at = ((Date.now() - this.#started) / 1000).toFixed(1)
      this.current = `${kind} (since +${at}s)`
      try {
        const detail = await this.#inject(kind, left)
        this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1)
        this.current = `after ${kind} (+${at}s)`
        this.#options.log(`[fault +${at}s] ${kind}${detail ? ` ${detail}` : ''}`)
      } catch (error) {
        this.failures.push(`${kind}: ${(error as Error).message}`)
        this.#options.log(`[fault +${at}s] ${kind} FAILED: ${(error as Error).message}`)
      }
    }
  }

  async #inject(kind: FaultKind, leftMs: number): Promise<string> {
    const { server, proxy, kernel, user } = this.#options
    const outage = (): number => Math.max(200, Math.min(between(this.#options.outageMs), leftMs))
    switch (kind) {
      case 'kill-some': {
        const ids = await server.connectionIds(user)
        const victims = ids.sort(() => Math.random() - 0.5).slice(0, Math.max(1, Math.ceil(ids.length / 3)))
        await this.#kill(victims)
        this.#detail(kind, 'sessions killed', victims.length)
        return `${victims.length} of ${ids.length} sessions`
      }
      case 'kill-all': {
        const ids = await server.connectionIds(user)
        await this.#kill(ids)
        this.#detail(kind, 'sessions killed', ids.length)
        return `${ids.length} sessions`
      }
      case 'restart': {
        const downMs = between([0, 800])
        await server.restart({ downMs })
        this.#detail(kind, 'total ms down', downMs)
        // Thread ids start again from 1: the old ones no longer name anything.
        this.stalledThreads.clear()
        return `down ${downMs} ms`
      }
      case 'stall': {
        const ms = outage()
        proxy.stall()
        try {
          for (const id of await server.connectionIds(user)) this.stalledThreads.add(id)
          await this.#pause(ms)
        } finally {
          proxy.resume()
        }
        this.#detail(kind, 'total ms stalled', ms)
        return `${ms} ms`
      }
      case 'cut':
      case 'interaction-timeout': {
        const [name, match] = weighted(TARGETS, TARGET_WEIGHTS)
        let armed = true
        const guarded: SqlMatcher = (sql) => armed && match(sql)
        const fault = kind === 'cut' ? proxy.cutNextResponse(guarded) : proxy.injectInteractionTimeout(guarded)
        const fired = await Promise.race([
          fault.then(
            () => 'fired',
            (error: Error) => `failed (${error.message})`,
          ),
          sleep(ARM_MS).then(() => 'expired'),
        ])
        // No disarm in the proxy's API: an unmatched rule stays listed but can never match again.
        armed = false
        this.#detail(kind, `${name} ${fired.startsWith('failed') ? 'failed' : fired}`)
        return `${name}: ${fired}`
      }
      case 'reset':
        proxy.reset()
        return ''
      case 'kernel-drop': {
        if (!kernel) return 'skipped'
        const ms = outage()
        await kernel.drop()
        try {
          await this.#pause(ms)
        } finally {
          await kernel.restore()
        }
        this.#detail(kind, 'total ms dropped', ms)
        return `${ms} ms (${kernel.mechanism})`
      }
    }
  }

  /** KILLs from one root connection straight to the server (never through the faulty path). */
  async #kill(ids: number[]): Promise<void> {
    if (ids.length === 0) return
    const { server } = this.#options
    const admin = await mysql.createConnection({ host: server.host, port: server.port, user: 'root', password: '', connectTimeout: 3_000 })
    try {
      for (const id of ids) {
        // A session may end between the listing and the KILL (ER_NO_SUCH_THREAD): nothing to do.
        await admin.query(`KILL CONNECTION ${Number(id)}`).catch(() => undefined)
      }
    } finally {
      await admin.end().catch(() => admin.destroy())
    }
  }
}
