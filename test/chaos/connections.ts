/**
 * @module
 * Counting connections from both ends. Client side: the kernel's socket table (`ss -p`),
 * filtered to sockets whose peer is the address the lifespan connects to, so only the
 * library's own sockets count (the proxy and the relays connect elsewhere). Server side: the
 * processlist.
 */
import { execFile } from 'node:child_process'
import type { DisposableServer } from '../support/disposable-server.js'

/** The library's client sockets to the address it connects to. */
export interface ClientSockets {
  /** ESTAB + SYN-SENT: sockets that hold (or are getting) a server session. */
  live: number
  /** Sockets whose file descriptor this process still holds, in any TCP state. */
  held: number
  /** CLOSE-WAIT: the peer closed, the application never did. */
  closeWait: number
  /** TCP states of the held sockets, e.g. `{ ESTAB: 16, 'LAST-ACK': 2 }`. */
  heldStates: Record<string, number>
  /** Held sockets not in ESTAB/SYN-SENT (closing, or closed by the peer), by local address. */
  closing: Map<string, string>
}

/**
 * The client sockets to `host:port`, from the kernel's socket table, or undefined where `ss`
 * is missing. Only this process's sockets count as `held` (`ss -p` names the owner of every
 * socket whose descriptor is open); a socket the application closed while the peer never
 * answered its FIN (a stalled path) is an orphan with no owner, and is not counted.
 */
export function clientSockets(host: string, port: number): Promise<ClientSockets | undefined> {
  return new Promise((resolve) => {
    execFile('ss', ['-Htnap'], { timeout: 5_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      if (error) {
        resolve(undefined)
        return
      }
      const peer = `${host}:${port}`
      const mine = `pid=${process.pid},`
      const counts: ClientSockets = { live: 0, held: 0, closeWait: 0, heldStates: {}, closing: new Map() }
      for (const line of stdout.split('\n')) {
        const cols = line.trim().split(/\s+/)
        if (cols[4] !== peer) continue
        if (cols[0] === 'ESTAB' || cols[0] === 'SYN-SENT') counts.live++
        else if (cols[0] === 'CLOSE-WAIT') counts.closeWait++
        if ((cols[5] ?? '').includes(mine)) {
          counts.held++
          const state = cols[0] ?? '?'
          counts.heldStates[state] = (counts.heldStates[state] ?? 0) + 1
          if (state !== 'ESTAB' && state !== 'SYN-SENT') counts.closing.set(cols[3] ?? '?', state)
        }
      }
      resolve(counts)
    })
  })
}

/**
 * Follows held sockets that are not connected (closing, or closed by the peer) from sample to
 * sample. A socket closes in milliseconds on a working path and within a few seconds of a
 * kernel drop ending; one still held after `lingerMs` is a leaked handle.
 */
export class LingerTracker {
  readonly #firstSeen = new Map<string, { at: number; state: string }>()
  /** Sockets seen held for longer than the limit: `local address state seconds`. */
  readonly leaked = new Map<string, string>()

  constructor(readonly lingerMs: number) {}

  sample(closing: Map<string, string>, now = Date.now()): void {
    for (const key of this.#firstSeen.keys()) if (!closing.has(key)) this.#firstSeen.delete(key)
    for (const [key, state] of closing) {
      const seen = this.#firstSeen.get(key) ?? { at: now, state }
      this.#firstSeen.set(key, seen)
      if (now - seen.at > this.lingerMs) this.leaked.set(key, `${key} ${state} for ${Math.round((now - seen.at) / 1000)} s`)
    }
  }
}

/**
 * Polls `probe` until `done` says so or `timeoutMs` passes; resolves the last value. Closes
 * travel through relays and, after a kernel drop, wait for a retransmission: give them time.
 */
export async function pollUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (done(value) || Date.now() >= deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Server sessions of `user` still open, apart from those in `explained`. */
export async function serverSessions(server: DisposableServer, user: string, explained: ReadonlySet<number>): Promise<{ all: number[]; unexplained: number[] }> {
  const all = await server.connectionIds(user)
  return { all, unexplained: all.filter((id) => !explained.has(id)) }
}
