import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Deadlines } from '../../src/deadlines.js'

describe('Deadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('expires each wait once at its deadline, and not one that ended first', () => {
    const deadlines = new Deadlines<() => void>((expire) => expire())
    const expired: string[] = []
    const now = Date.now()
    const a = deadlines.start(now + 100, () => expired.push('a'))
    deadlines.start(now + 200, () => expired.push('b'))
    deadlines.start(now + 300, () => expired.push('c'))
    expect(vi.getTimerCount()).toBe(1) // one timer for all of them
    expect(deadlines.end(a)).toBe(true)
    vi.advanceTimersByTime(199)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['b'])
    vi.advanceTimersByTime(100)
    expect(expired).toEqual(['b', 'c'])
    expect(deadlines.pending).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('says a wait that already expired cannot end, so its late connection is handed back', () => {
    const deadlines = new Deadlines<() => void>((expire) => expire())
    const expire = vi.fn()
    const wait = deadlines.start(Date.now() + 50, expire)
    vi.advanceTimersByTime(50)
    expect(expire).toHaveBeenCalledTimes(1)
    expect(deadlines.end(wait)).toBe(false)
    vi.advanceTimersByTime(1_000)
    expect(expire).toHaveBeenCalledTimes(1)
  })

  it('honours a deadline earlier than every wait before it (a retry with less time left)', () => {
    const deadlines = new Deadlines<() => void>((expire) => expire())
    const expired: string[] = []
    deadlines.start(Date.now() + 10_000, () => expired.push('long'))
    deadlines.start(Date.now() + 30, () => expired.push('short'))
    vi.advanceTimersByTime(30)
    expect(expired).toEqual(['short'])
    expect(deadlines.pending).toBe(1)
    vi.advanceTimersByTime(9_970)
    expect(expired).toEqual(['short', 'long'])
  })

  it('leaves no timer once every wait ended, whatever the order', () => {
    const deadlines = new Deadlines<() => void>((expire) => expire())
    const waits = [1, 2, 3].map((i) => deadlines.start(Date.now() + i * 1_000, () => {}))
    deadlines.end(waits[1]!)
    deadlines.end(waits[2]!)
    expect(vi.getTimerCount()).toBe(1) // the oldest is still waiting
    deadlines.end(waits[0]!)
    expect(vi.getTimerCount()).toBe(0)
    expect(deadlines.pending).toBe(0)
  })

  it('lets an expiry start another wait, which is then timed too', () => {
    const deadlines = new Deadlines<() => void>((expire) => expire())
    const expired: string[] = []
    deadlines.start(Date.now() + 10, () => {
      expired.push('first')
      deadlines.start(Date.now() + 10, () => expired.push('second'))
    })
    vi.advanceTimersByTime(10)
    expect(expired).toEqual(['first'])
    vi.advanceTimersByTime(10)
    expect(expired).toEqual(['first', 'second'])
    expect(vi.getTimerCount()).toBe(0)
  })
})
