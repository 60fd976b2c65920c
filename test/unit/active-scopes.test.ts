import { describe, expect, it } from 'vitest'
import { ActiveScopes, Frame, interruptedError } from '../../src/scope.js'

const frames = (n: number): Frame[] => Array.from({ length: n }, () => new Frame('task', false))

describe('ActiveScopes', () => {
  it('keeps every open scope once, whatever the order they close in', () => {
    const active = new ActiveScopes()
    const [a, b, c, d] = frames(4) as [Frame, Frame, Frame, Frame]
    for (const f of [a, b, c, d]) active.add(f)
    active.add(b) // twice: still once
    expect(active.size).toBe(4)
    expect(active.delete(b)).toBe(true) // from the middle: the last one takes its place
    expect(active.delete(b)).toBe(false)
    expect(active.list().sort((x, y) => x.id - y.id)).toEqual([a, c, d])
    expect(active.delete(a)).toBe(true)
    expect(active.delete(d)).toBe(true)
    expect(active.list()).toEqual([c])
    expect(active.list(c)).toEqual([])
    expect(active.delete(c)).toBe(true)
    expect(active.size).toBe(0)
    expect(b.slot).toBe(-1)
  })

  it('refuses a scope it does not hold, even one holding a slot number of another list', () => {
    const one = new ActiveScopes()
    const two = new ActiveScopes()
    const [a, b] = frames(2) as [Frame, Frame]
    one.add(a)
    two.add(b)
    expect(one.delete(b)).toBe(false) // b.slot is 0 in `two`, where `one` holds a
    expect(one.list()).toEqual([a])
    expect(two.list()).toEqual([b])
  })

  it('gives a copy that stays whole while the scopes in it close and leave the list', async () => {
    const active = new ActiveScopes()
    const open = frames(5)
    const closing = open.map((f) => {
      active.add(f)
      return f.run(() => new Promise(() => {}), (closed) => active.delete(closed)).catch((err: unknown) => err)
    })
    const error = interruptedError('test')
    for (const f of active.list()) f.interrupt(error)
    expect(await Promise.all(closing)).toEqual(open.map(() => error))
    expect(active.size).toBe(0)
  })
})
