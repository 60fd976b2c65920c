import { describe, expect, it } from 'vitest'
import { admin, lifespanFor, tableName } from '../support/env.js'
import { makeTool, TOOLS } from './support/tools.js'

describe.each(TOOLS)('%s smoke', (tool) => {
  it('crud + scope', async () => {
    const t = tableName(`smoke_${tool}`)
    await admin(`CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL)`)
    const lifespan = lifespanFor()
    const api = makeTool(tool, { lifespan }, t)
    await api.insert('a')
    await api.insert('b')
    expect(await api.values()).toEqual(['a', 'b'])
    const ids = await lifespan.scope(async () => [await api.read('SELECT CONNECTION_ID() AS id'), await api.read('SELECT CONNECTION_ID() AS id')])
    expect(Number(ids[0]![0]!.id)).toBe(Number(ids[1]![0]!.id))
    await api.transaction(async (tx) => { await tx.insert('c'); await tx.insert('d') })
    expect(await api.values()).toEqual(['a', 'b', 'c', 'd'])
    if (api.stream) {
      const got: string[] = []
      for await (const v of api.stream()) got.push(v)
      expect(got).toEqual(['a', 'b', 'c', 'd'])
    }
    await api.close()
    expect(lifespan.stats().aliases.default!.inUse).toBe(0)
  })
})
