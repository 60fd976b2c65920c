/**
 * One side of the instruction-count measure (orm-instructions.ts), run under valgrind's callgrind:
 * one tool on its own mysql2 pool or on mysql-lifespan, reads by id at a fixed concurrency. It warms
 * up, says `ready` and waits for `go` on stdin (the parent has dumped callgrind's counters by then,
 * which zeroes them), makes the measured reads, says `done` and waits for `exit` (the parent dumps
 * again: that second dump holds the measured reads alone).
 *
 * Ids follow a fixed sequence, so both sides read the same rows in the same order.
 */
import { createInterface } from 'node:readline'
import { createLifespan } from 'mysql-lifespan'
import { makeTool, type ToolName } from '../test/orm/support/tools.js'
import { runWorker } from './lib/orm-reads.js'

interface Config {
  tool: ToolName
  side: 'plain' | 'lifespan'
  url: string
  table: string
  rows: number
  pool: number
  concurrency: number
  warmupReads: number
  reads: number
  /** The lifespan side's `aliveBypassMs` (see orm-instructions.ts: under valgrind time runs some 50 times slower). */
  aliveBypassMs: number
}

async function main(config: Config): Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  const waitFor = async (word: string): Promise<void> => {
    const next = await lines.next()
    if (next.done || next.value.trim() !== word) throw new Error(`expected "${word}" on stdin`)
  }
  const lifespan =
    config.side === 'lifespan'
      ? createLifespan({ databases: { default: { uri: config.url, connectionLimit: config.pool, aliveBypassMs: config.aliveBypassMs } } })
      : undefined
  const api = lifespan ? makeTool(config.tool, { lifespan }, config.table) : makeTool(config.tool, { url: config.url, pool: config.pool }, config.table)
  let id = 0
  const reads = async (count: number): Promise<void> => {
    let left = count
    await Promise.all(
      Array.from({ length: config.concurrency }, async () => {
        while (left-- > 0) {
          id = (id * 7 + 13) % config.rows
          if ((await api.byId(1 + id)) === undefined) throw new Error('row not found')
        }
      }),
    )
  }
  await reads(config.warmupReads)
  const before = lifespan?.stats().aliases.default
  process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`)
  await waitFor('go')
  await reads(config.reads)
  const after = lifespan?.stats().aliases.default
  // Validation pings or new connections during the measured reads would be work the native run does not do.
  const pings = before && after ? after.pings - before.pings : 0
  const created = before && after ? after.created - before.created : 0
  process.stdout.write(`${JSON.stringify({ event: 'done', pings, created })}\n`)
  await waitFor('exit')
  await api.close()
  await lifespan?.shutdown()
}

runWorker(main)
