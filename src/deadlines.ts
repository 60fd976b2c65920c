/**
 * @module
 * Deadlines of checkouts waiting in mysql2's queue, under one timer. mysql2 serves its queue
 * in order, so waits mostly end oldest first: one timer set for the earliest deadline replaces
 * a `setTimeout` and a `clearTimeout` for every scope that had to wait for a connection.
 */

/** @internal One checkout waiting for a connection, and what to tell if it expires. */
export interface Wait<T> {
  readonly deadline: number
  ended: boolean
  /** Dropped when the wait ends: an ended wait may stay in the list until the ones before it end. */
  payload: T | undefined
}

/** @internal The waits of one pool and the timer of the earliest deadline among them. */
export class Deadlines<T> {
  /** Oldest first; ended waits leave from the front. */
  readonly #waits: Array<Wait<T>> = []
  readonly #onExpire: (payload: T) => void
  #timer: NodeJS.Timeout | undefined
  #timerAt = Number.POSITIVE_INFINITY

  /** `onExpire` is called with a wait's payload when its deadline passes before it ended. */
  constructor(onExpire: (payload: T) => void) {
    this.#onExpire = onExpire
  }

  /** How many waits have neither ended nor expired. */
  get pending(): number {
    let n = 0
    for (const wait of this.#waits) if (!wait.ended) n++
    return n
  }

  /** Starts a wait; it expires once at `deadline`, unless {@link Deadlines.end} comes first. */
  start(deadline: number, payload: T): Wait<T> {
    const wait: Wait<T> = { deadline, ended: false, payload }
    this.#waits.push(wait)
    if (deadline < this.#timerAt) this.#arm(deadline)
    return wait
  }

  /** Ends a wait; false when it had already expired. */
  end(wait: Wait<T>): boolean {
    if (wait.ended) return false
    wait.ended = true
    wait.payload = undefined
    this.#trim()
    return true
  }

  #trim(): void {
    const waits = this.#waits
    while (waits.length > 0 && (waits[0] as Wait<T>).ended) waits.shift()
    // Nothing left to time out: no timer keeps the process alive.
    if (waits.length === 0 && this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      this.#timerAt = Number.POSITIVE_INFINITY
    }
  }

  #arm(at: number): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = setTimeout(this.#sweep, Math.max(0, at - Date.now()))
  }

  #sweep = (): void => {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    // A copy: an expiry may start another wait.
    for (const wait of [...this.#waits]) {
      if (wait.ended) continue
      if (wait.deadline <= now) {
        wait.ended = true
        const payload = wait.payload as T
        wait.payload = undefined
        this.#onExpire(payload)
      } else if (wait.deadline < next) {
        next = wait.deadline
      }
    }
    this.#trim()
    if (next < this.#timerAt) this.#arm(next)
  }
}
