/**
 * @module
 * What the client believes about each write it issued, kept off the JS heap so that the
 * soak's own bookkeeping does not show up in the heap-growth check: one byte per write, in a
 * typed array whose backing store is external memory. Writes are numbered 0, 1, 2, ... per
 * ledger; their parameters are derived from that number (see {@link params}), so the server's
 * rows can be checked against what was sent without remembering it.
 */

/** The client's view of one write. */
export const Outcome = {
  /** Never issued. */
  NONE: 0,
  /** Issued, not settled yet. */
  PENDING: 1,
  /** The client got a success: the write must be on the server exactly once. */
  ACKED: 2,
  /** Failed with a known outcome (nothing sent, or the server refused it): must be absent. */
  KNOWN_FAILED: 3,
  /** Failed after it may have reached the server: present at most once, either way is correct. */
  UNKNOWN: 4,
} as const
export type Outcome = (typeof Outcome)[keyof typeof Outcome]

/** A growable array of outcomes indexed by write number. */
export class Ledger {
  #bytes = new Uint8Array(1 << 16)
  /** How many times each write's statement was seen on the wire (saturates at 255). */
  #sends = new Uint8Array(1 << 16)
  #issued = 0

  /** How many writes were issued. */
  get issued(): number {
    return this.#issued
  }

  /** Allocates the next write number, marked pending. */
  next(): number {
    const n = this.#issued++
    if (n >= this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2)
      grown.set(this.#bytes)
      this.#bytes = grown
      const sends = new Uint8Array(grown.length)
      sends.set(this.#sends)
      this.#sends = sends
    }
    this.#bytes[n] = Outcome.PENDING
    return n
  }

  get(n: number): Outcome {
    return (n >= 0 && n < this.#issued ? this.#bytes[n] : Outcome.NONE) as Outcome
  }

  set(n: number, outcome: Outcome): void {
    this.#bytes[n] = outcome
  }

  /** Records that write `n`'s statement went over the wire once more. */
  sent(n: number): void {
    if (n >= 0 && n < this.#issued && this.#sends[n]! < 255) this.#sends[n]!++
  }

  /** Writes whose statement was seen on the wire, and those seen more than once. */
  sendTally(): { observed: number; resent: number } {
    let observed = 0
    let resent = 0
    for (let n = 0; n < this.#issued; n++) {
      const count = this.#sends[n] as number
      if (count > 0) observed++
      if (count > 1) resent++
    }
    return { observed, resent }
  }

  /** How many writes are in each state. */
  tally(): Record<Outcome, number> {
    const counts = { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0 } as Record<Outcome, number>
    for (let n = 0; n < this.#issued; n++) counts[this.#bytes[n] as Outcome]++
    return counts
  }

  /** A random write number in `state`, or undefined if a few draws find none. */
  sample(state: Outcome): number | undefined {
    if (this.#issued === 0) return undefined
    for (let tries = 0; tries < 8; tries++) {
      const n = Math.floor(Math.random() * this.#issued)
      if (this.#bytes[n] === state) return n
    }
    return undefined
  }
}

/** A 32-bit integer hash (splitmix-style), for parameters derived from a write number. */
function hash(seed: number, n: number, salt: number): number {
  let x = (seed ^ Math.imul(n + 1, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0
  return (x ^ (x >>> 16)) >>> 0
}

/** Parameters of every write, derived from its number: the server's rows are checked against them. */
export const params = {
  /** One insert in 32 violates the CHECK constraint: a write that must fail with a known outcome. */
  isPoison: (seed: number, n: number): boolean => hash(seed, n, 1) % 32 === 0,
  insertAmount: (seed: number, n: number): number => (hash(seed, n, 2) % 1000) + 1,
  transfer: (seed: number, n: number, accounts: number): { from: number; to: number; amount: number } => {
    const from = hash(seed, n, 3) % accounts
    const to = (from + 1 + (hash(seed, n, 4) % (accounts - 1))) % accounts
    return { from: from + 1, to: to + 1, amount: (hash(seed, n, 5) % 100) + 1 }
  },
}
