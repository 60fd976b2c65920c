import { once } from 'node:events'
import type { AddressInfo, Server } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { every, processor, serveSocket, type SocketServiceOptions } from '../../src/adapters/worker.js'
import type { Lifespan } from '../../src/index.js'
import { type DisposableServer, startDisposableServer } from '../support/disposable-server.js'
import { blockEventLoop, lifespanFor, sleep } from '../support/env.js'
import { eventually, route, spawnExample } from './support/web-suite.js'
import { lineClient, request } from './support/worker-client.js'

let disposable: DisposableServer
beforeAll(async () => {
  disposable = await startDisposableServer({ waitTimeout: 2 })
})
afterAll(async () => {
  await disposable?.stop()
})

const inUse = (lifespan: Lifespan): number => lifespan.stats().aliases.default?.inUse ?? -1
const released = (lifespan: Lifespan): Promise<void> =>
  eventually(() => inUse(lifespan) === 0 && lifespan.stats().activeScopes === 0, 1_000, 'connection released')

describe('serveSocket', () => {
  const servers: Server[] = []
  afterEach(() => {
    for (const server of servers.splice(0)) server.close()
  })
  /** A service answering the web suite's routes (`/scope`, `/id`, `/slow`, `/`) as JSON lines. */
  async function service(lifespan: Lifespan, options?: SocketServiceOptions): Promise<{ server: Server; port: number }> {
    const server = serveSocket(lifespan, (line) => route(lifespan, line), options)
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return { server, port: (server.address() as AddressInfo).port }
  }

  it('handles each request line in a task scope of its own, in order on one connection', async () => {
    const lifespan = lifespanFor()
    const { port } = await service(lifespan)
    const client = await lineClient(port)
    client.socket.write('/scope\n/id\r\n/scope\n')
    const replies = [await client.next(), await client.next(), await client.next()].map((l) => JSON.parse(l))
    client.socket.end()
    expect(replies.map((r) => r.scope.kind)).toEqual(['task', 'task', 'task'])
    expect(new Set(replies.map((r) => r.scope.id)).size).toBe(3)
    expect(replies[1].id).toBeTypeOf('number')
    await released(lifespan)
  })

  it('gives concurrent connections distinct scopes and connections, and releases after the reply', async () => {
    const lifespan = lifespanFor()
    const { port } = await service(lifespan)
    const [a, b] = (await Promise.all([request(port, '/id'), request(port, '/id')])).map((l) => JSON.parse(l))
    expect(a.scope.id).not.toBe(b.scope.id)
    expect(a.id).not.toBe(b.id)
    await released(lifespan)
  })

  it('answers a client that half-closes after its last request (no trailing newline)', async () => {
    const lifespan = lifespanFor()
    const { port } = await service(lifespan)
    const client = await lineClient(port)
    client.socket.end('/')
    expect(JSON.parse(await client.next())).toEqual([{ ok: 1 }])
    await client.ended
  })

  it('releases the connection within a second when the client disconnects mid-request', async () => {
    const lifespan = lifespanFor()
    const { port } = await service(lifespan)
    const client = await lineClient(port)
    client.send('/slow')
    await eventually(() => inUse(lifespan) === 1, 2_000, 'the slow request holds a connection')
    client.socket.destroy()
    const left = Date.now()
    await released(lifespan)
    expect(Date.now() - left).toBeLessThan(1_000)
  })

  it('replies `ERR <code>` for a failed request and keeps serving', async () => {
    const lifespan = lifespanFor()
    const server = serveSocket(lifespan, async (line) => {
      if (line === 'bad') await lifespan.db().query('SELECT * FROM no_such_table_here')
      return 'fine'
    })
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const client = await lineClient((server.address() as AddressInfo).port)
    client.send('bad')
    client.send('good')
    expect(await client.next()).toBe('ERR ER_NO_SUCH_TABLE')
    expect(await client.next()).toBe('fine')
    client.socket.end()
  })

  it('serves every request after the server closed idle connections (wait_timeout) while the loop was blocked', async () => {
    const lifespan = lifespanFor({ url: disposable.url })
    const { port } = await service(lifespan)
    const warm = (await Promise.all([1, 2, 3, 4].map(() => request(port, '/id')))).map((l) => JSON.parse(l))
    expect(new Set(warm.map((r) => r.id)).size).toBe(4)
    blockEventLoop(3_000)
    const after = await Promise.all(Array.from({ length: 10 }, () => request(port, '/')))
    expect(after).toEqual(Array(10).fill('[{"ok":1}]'))
  })

  it('closes gracefully when its signal aborts: answers the request in progress, ends idle connections, stops accepting', async () => {
    const lifespan = lifespanFor()
    const stop = new AbortController()
    const { server, port } = await service(lifespan, { signal: stop.signal })
    const idle = await lineClient(port)
    const busy = await lineClient(port)
    busy.send('/slow')
    await eventually(() => inUse(lifespan) === 1, 2_000, 'the slow request holds a connection')
    stop.abort()
    await idle.ended
    expect(JSON.parse(await busy.next())).toEqual({ slept: true })
    await busy.ended
    await once(server, 'close')
    await expect(lineClient(port)).rejects.toThrow()
  })

  it('answers ERR_LIFESPAN_SHUTTING_DOWN once shutdown has begun and ends that connection', async () => {
    const lifespan = lifespanFor()
    const { port } = await service(lifespan)
    const busy = await lineClient(port)
    busy.send('/slow')
    await eventually(() => inUse(lifespan) === 1, 2_000, 'the slow request holds a connection')
    const stopping = lifespan.shutdown({ timeoutMs: 5_000 })
    const late = await lineClient(port)
    late.send('/')
    expect(await late.next()).toBe('ERR ERR_LIFESPAN_SHUTTING_DOWN')
    await late.ended
    expect(JSON.parse(await busy.next())).toEqual({ slept: true })
    expect((await stopping).clean).toBe(true)
  })

  it('SIGTERM to the compiled socket-service example answers the request in flight, exits 0, leaves no connection', async () => {
    const child = await spawnExample('socket-service', { MYSQL_URL: disposable.url })
    expect(JSON.parse(await request(child.port, '/id'))[0].id).toBeTypeOf('number')
    const client = await lineClient(child.port)
    client.send('/slow')
    await sleep(150)
    child.kill('SIGTERM')
    expect(JSON.parse(await client.next())).toEqual([{ slept: 0 }])
    await client.ended
    expect(await child.exited).toBe(0)
    expect(child.output()).not.toMatch(/Error/)
    expect(await disposable.connectionIds()).toEqual([])
  })
})

describe('every', () => {
  it('runs each run in a scope of its own, never overlapping, and stops after the run in progress on abort', async () => {
    const lifespan = lifespanFor()
    const stop = new AbortController()
    const scopes: number[] = []
    let running = 0
    let overlap = false
    const done = every(
      lifespan,
      20,
      async () => {
        overlap ||= running > 0
        running++
        scopes.push(lifespan.currentScope()?.id ?? -1)
        expect(lifespan.currentScope()?.kind).toBe('task')
        await lifespan.db().query('SELECT SLEEP(0.06)')
        running--
      },
      { signal: stop.signal, immediate: true },
    )
    await eventually(() => scopes.length >= 4 && running === 1, 3_000, 'four runs')
    stop.abort()
    await done
    const count = scopes.length
    expect(running).toBe(0) // resolved after the run in progress
    expect(overlap).toBe(false)
    expect(new Set(scopes).size).toBe(count)
    await sleep(100)
    expect(scopes.length).toBe(count)
    expect(inUse(lifespan)).toBe(0)
  })

  it('stops when the lifespan shuts down, without a signal', async () => {
    const lifespan = lifespanFor()
    let runs = 0
    const done = every(lifespan, 10_000, () => runs++, { immediate: true })
    await eventually(() => runs === 1, 2_000, 'first run')
    const started = Date.now()
    await lifespan.shutdown()
    await done
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('rejects on the first failure without onError; with onError it goes on', async () => {
    const lifespan = lifespanFor()
    await expect(every(lifespan, 10, () => lifespan.db().query('SELECT * FROM no_such_table_here'))).rejects.toMatchObject({ code: 'ER_NO_SUCH_TABLE' })
    const stop = new AbortController()
    const errors: unknown[] = []
    const done = every(lifespan, 10, () => lifespan.db().query('SELECT * FROM no_such_table_here'), {
      signal: stop.signal,
      onError: (err) => errors.push(err),
    })
    await eventually(() => errors.length >= 3, 2_000, 'three failed runs')
    stop.abort()
    await done
  })

  it('rejects an interval that is not a whole number > 0', async () => {
    await expect(every(lifespanFor(), 0, () => {})).rejects.toMatchObject({ code: 'ERR_LIFESPAN_INVALID_OPTION' })
  })
})

describe('processor', () => {
  it('runs each message in a task scope of its own and refuses messages once shutdown has begun', async () => {
    const lifespan = lifespanFor()
    const seen: Array<{ id: number | undefined; kind: string | undefined }> = []
    const handle = processor(lifespan, async (n: number) => {
      await lifespan.db().query('SELECT ?', [n])
      seen.push({ id: lifespan.currentScope()?.id, kind: lifespan.currentScope()?.kind })
      return n * 2
    })
    expect(await Promise.all([handle(1), handle(2)])).toEqual([2, 4])
    expect(seen.map((s) => s.kind)).toEqual(['task', 'task'])
    expect(seen[0]?.id).not.toBe(seen[1]?.id)
    const stopping = lifespan.shutdown()
    await expect(handle(3)).rejects.toMatchObject({ code: 'ERR_LIFESPAN_SHUTTING_DOWN' })
    await stopping
    expect(seen).toHaveLength(2)
  })

  it('handles messages after the server closed idle connections (wait_timeout) while the loop was blocked', async () => {
    const lifespan = lifespanFor({ url: disposable.url })
    const handle = processor(lifespan, async () => {
      const [rows] = await lifespan.db().query<Array<{ id: number } & Record<string, unknown>>>('SELECT CONNECTION_ID() AS id, SLEEP(0.05) AS s')
      return rows[0]?.id
    })
    const warm = await Promise.all([1, 2, 3].map(() => handle()))
    blockEventLoop(3_000)
    const after = await Promise.all(Array.from({ length: 10 }, () => handle()))
    expect(after.every((id) => typeof id === 'number')).toBe(true)
    for (const id of warm) expect(after).not.toContain(id)
  })
})

describe('runMain', () => {
  it('SIGTERM to the compiled worker example stops the schedule after its run, exits 0, leaves no connection', async () => {
    const child = await spawnExample('worker', { MYSQL_URL: disposable.url, INTERVAL_MS: '100' }, /tick \d+/)
    child.send('hello\n')
    await eventually(() => /done hello \d+/.test(child.output()), 3_000, 'message processed')
    child.kill('SIGTERM')
    expect(await child.exited).toBe(0)
    expect(child.output()).not.toMatch(/Error|failed/)
    expect(await disposable.connectionIds()).toEqual([])
  })
})
