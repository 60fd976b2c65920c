/**
 * @module
 * A loopback TCP proxy in front of a MySQL/MariaDB server that injects the network faults
 * measured with mysql2 (see the shared reference mysql2-faults.md): a stalled path
 * (blackhole), an abrupt reset, a reply lost after the statement ran, and a MySQL 8
 * ER_CLIENT_INTERACTION_TIMEOUT (4031) error packet as the reply to a query.
 *
 * Only the client-to-server direction is parsed, and only as far as MySQL packet framing:
 * that is enough to see where each command starts and which SQL it carries. The other
 * direction stays an opaque byte stream, so the proxy never needs to understand result sets.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

/** Decides whether a command is the one to fault, from its SQL text ('' for COM_STMT_EXECUTE). */
export type SqlMatcher = (sqlText: string) => boolean

/** The client command a one-shot fault was applied to. */
export interface FaultedCommand {
  /** `COM_QUERY` for text queries (`query()`), `COM_STMT_EXECUTE` for prepared ones (`execute()`). */
  command: 'COM_QUERY' | 'COM_STMT_EXECUTE'
  /** The statement text for COM_QUERY; '' for COM_STMT_EXECUTE, whose packet carries only a statement id. */
  sql: string
}

/** A running fault proxy; see {@link startFaultProxy}. */
export interface FaultProxy {
  /** Listening port on 127.0.0.1. */
  readonly port: number
  /** Always loopback. */
  readonly host: '127.0.0.1'
  /** `mysql://<user>@127.0.0.1:<port>/<database>`, for clients that should go through the proxy. */
  url(database?: string, user?: string): string
  /**
   * Client sockets currently open. Stalled ones count until reset() or close(): their
   * client's FIN is swallowed like every other byte, so the proxy never sees them go.
   */
  readonly connections: number
  /**
   * Blackholes the path: every open socket, and every socket accepted from now on, stays
   * open but no byte is forwarded either way (they are read and discarded, FINs included).
   * New clients are accepted and never connected upstream, so they wait for a server
   * greeting that never comes. Bytes already waiting in the latency queue are lost too.
   */
  stall(): void
  /**
   * Forwards traffic again for connections accepted from now on. Connections stalled before
   * stay dead for good, like a NAT or conntrack entry that was dropped: their server session
   * has moved on and no byte will flow again. Clients must detect them and reconnect, which
   * is the behaviour under test; only reset() or close() ends them.
   */
  resume(): void
  /** Ends every client socket and its upstream at once with a TCP RST (`resetAndDestroy()`). */
  reset(): void
  /**
   * Arms a one-shot fault for the next COM_QUERY or COM_STMT_EXECUTE, on any connection,
   * whose SQL `match`es (default: any). The command reaches the server and runs; its reply is
   * dropped and the client socket is destroyed as soon as the first reply bytes come back, so
   * the client cannot tell whether the statement ran. Resolves once the cut happened; rejects
   * if the connection died another way first or the proxy closed.
   */
  cutNextResponse(match?: SqlMatcher): Promise<FaultedCommand>
  /**
   * Arms a one-shot fault for the next COM_QUERY whose SQL `match`es (default: any). That
   * query is not forwarded; the client gets MySQL 8's ER_CLIENT_INTERACTION_TIMEOUT (4031)
   * error packet as its reply, then a FIN a few ms later, as from a MySQL >= 8.0.24 server
   * that closed the idle session just as the query was sent. Resolves once the FIN is sent.
   */
  injectInteractionTimeout(match?: SqlMatcher): Promise<FaultedCommand>
  /**
   * Arms a one-shot fault for the next COM_QUERY or COM_STMT_EXECUTE whose SQL `match`es
   * (default: any). That command is not forwarded and its connection goes silent both ways,
   * sockets left open, as if the path stalled just as it was sent: the client waits for a reply
   * that never comes. Only that connection; others go on. Resolves once the command was held.
   */
  holdNext(match?: SqlMatcher): Promise<FaultedCommand>
  /**
   * Records every client command (after the handshake) from now on, until the returned function is
   * called; it returns what was recorded. Counts round trips exactly: each command is one.
   */
  recordCommands(): () => RecordedCommand[]
  /** Delays every forwarded chunk, both directions, by `ms` (0 turns it off). Order is kept. */
  setLatency(ms: number): void
  /** Stops listening and destroys every socket; pending one-shot faults reject. */
  close(): Promise<void>
}

/** One client command seen by {@link FaultProxy.recordCommands}. */
export interface RecordedCommand {
  /** The command byte: 0x03 COM_QUERY, 0x0e COM_PING, 0x16/0x17 prepare/execute, 0x1f COM_RESET_CONNECTION, … */
  code: number
  /** The statement text for COM_QUERY and COM_STMT_PREPARE, else ''. */
  sql: string
}

const COM_QUERY = 0x03
const COM_STMT_PREPARE = 0x16
const COM_STMT_EXECUTE = 0x17
/** A payload of exactly this size means the command continues in the next packet. */
const MAX_PAYLOAD = 0xff_ff_ff
const CLIENT_COMPRESS = 0x20
const CLIENT_SSL = 0x800
const ER_CLIENT_INTERACTION_TIMEOUT = 4031
const INTERACTION_TIMEOUT_MESSAGE =
  'The client was disconnected by the server because of inactivity. See wait_timeout and interactive_timeout for configuring this behavior.'
/** The gap between the 4031 packet and the FIN; a real server's close follows its error the same way. */
const INJECT_CLOSE_DELAY_MS = 5

interface Rule {
  kind: 'cut' | 'inject' | 'hold'
  commands: ReadonlySet<number>
  match: SqlMatcher
  resolve: (command: FaultedCommand) => void
  reject: (error: Error) => void
}

/** A rule's promise plus the callbacks that settle it, with rejection pre-handled. */
function createRule(kind: Rule['kind'], commands: number[], match: SqlMatcher): { rule: Rule; promise: Promise<FaultedCommand> } {
  let resolve!: Rule['resolve']
  let reject!: Rule['reject']
  const promise = new Promise<FaultedCommand>((res, rej) => {
    resolve = res
    reject = rej
  })
  // A test that arms a fault and never awaits it must not die of an unhandled rejection when
  // the proxy closes; callers that do await still see the rejection.
  promise.catch(() => undefined)
  return { rule: { kind, commands: new Set(commands), match, resolve, reject }, promise }
}

/** Builds a MySQL ERR packet (header, 0xff, code, '#', SQLSTATE, message) with the given sequence id. */
function errPacket(sequenceId: number, code: number, sqlState: string, message: string): Buffer {
  const payload = Buffer.concat([
    Buffer.from([0xff, code & 0xff, (code >> 8) & 0xff]),
    Buffer.from(`#${sqlState}`, 'ascii'),
    Buffer.from(message, 'utf8'),
  ])
  const header = Buffer.alloc(4)
  header.writeUIntLE(payload.length, 0, 3)
  header[3] = sequenceId & 0xff
  return Buffer.concat([header, payload])
}

/**
 * One direction's delivery queue. Each item waits until its due time, and due times never
 * decrease, so a latency change can slow the stream but never reorder it.
 */
class Lane {
  #items: Array<{ due: number; run: () => void }> = []
  #timer: NodeJS.Timeout | undefined
  readonly #latency: () => number

  constructor(latency: () => number) {
    this.#latency = latency
  }

  push(run: () => void): void {
    const ms = this.#latency()
    if (ms <= 0 && this.#items.length === 0) {
      run()
      return
    }
    const last = this.#items.at(-1)?.due ?? 0
    this.#items.push({ due: Math.max(Date.now() + ms, last), run })
    this.#schedule()
  }

  /** Forgets queued items: bytes "in the network" are lost with the path. */
  clear(): void {
    this.#items = []
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(): void {
    const head = this.#items[0]
    if (head === undefined || this.#timer !== undefined) return
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, head.due - Date.now()))
  }

  #flush(): void {
    this.#timer = undefined
    // Timers may fire a hair before Date.now() reaches the due time; 1 ms of slack avoids a
    // pointless 0 ms re-arm.
    while (this.#items[0] !== undefined && this.#items[0].due <= Date.now() + 1) {
      this.#items.shift()?.run()
    }
    this.#schedule()
  }
}

/** Writes with backpressure, so a large result set does not pile up in the proxy's memory. */
function write(to: Socket, from: Socket, data: Buffer): void {
  if (to.destroyed || to.writableEnded) return
  if (!to.write(data) && !from.destroyed) {
    from.pause()
    to.once('drain', () => from.resume())
  }
}

function hardClose(socket: Socket | undefined): void {
  if (socket === undefined || socket.destroyed) return
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}

/** A command being assembled from 16 MiB packets, which must be seen whole before matching. */
interface PendingMessage {
  packets: Buffer[]
  payloads: Buffer[]
}

/** One client connection and its upstream. */
class Link {
  /** open: forwarding; dead: blackholed (stall) or being closed by a fault; closed: gone. */
  state: 'open' | 'dead' | 'closed' = 'open'
  upstream: Socket | undefined
  /** Unparsed tail of the client stream: a packet split across TCP chunks. */
  buffer: Buffer = Buffer.alloc(0)
  /** Set once the handshake response was seen; the packets before it are not commands. */
  greeted = false
  /** TLS or compression: packet framing no longer visible, so bytes pass through untouched. */
  opaque = false
  message: PendingMessage | undefined
  /** A cut armed on this connection: the command went upstream, its reply must not come back. */
  cut: { rule: Rule; command: FaultedCommand } | undefined
  readonly toServer: Lane
  readonly toClient: Lane

  constructor(
    readonly client: Socket,
    latency: () => number,
  ) {
    this.toServer = new Lane(latency)
    this.toClient = new Lane(latency)
  }

  /** Stops all forwarding but leaves both sockets open; a pending cut can no longer complete. */
  blackhole(reason: string): void {
    if (this.state !== 'open') return
    this.state = 'dead'
    this.toServer.clear()
    this.toClient.clear()
    this.buffer = Buffer.alloc(0)
    this.message = undefined
    this.failCut(reason)
  }

  /**
   * Stops forwarding without clearing the lanes: a fault takes over this connection, and its
   * own reply must still go out behind anything already queued for the client.
   */
  retire(): void {
    this.state = 'dead'
    this.buffer = Buffer.alloc(0)
    this.message = undefined
  }

  failCut(reason: string): void {
    const cut = this.cut
    this.cut = undefined
    cut?.rule.reject(new Error(`cutNextResponse: ${reason} before the reply arrived`))
  }
}

class Proxy implements FaultProxy {
  readonly host = '127.0.0.1' as const
  readonly #server: Server
  readonly #target: { host: string; port: number }
  readonly #links = new Set<Link>()
  #rules: Rule[] = []
  #recording: RecordedCommand[] | undefined
  #stalled = false
  #latencyMs = 0
  #closed: Promise<void> | undefined

  constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server
    this.#target = target
    server.on('connection', (socket) => this.#accept(socket))
  }

  get port(): number {
    const address = this.#server.address()
    return typeof address === 'object' && address !== null ? address.port : 0
  }

  get connections(): number {
    return this.#links.size
  }

  url(database = 'test', user = 'root'): string {
    return `mysql://${encodeURIComponent(user)}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`
  }

  stall(): void {
    this.#stalled = true
    for (const link of this.#links) link.blackhole('the path stalled')
  }

  resume(): void {
    this.#stalled = false
  }

  reset(): void {
    for (const link of [...this.#links]) {
      link.failCut('the connection was reset')
      this.#teardown(link, 'reset')
    }
  }

  recordCommands(): () => RecordedCommand[] {
    const recording: RecordedCommand[] = []
    this.#recording = recording
    return () => {
      if (this.#recording === recording) this.#recording = undefined
      return recording
    }
  }

  cutNextResponse(match: SqlMatcher = () => true): Promise<FaultedCommand> {
    return this.#arm('cut', [COM_QUERY, COM_STMT_EXECUTE], match)
  }

  injectInteractionTimeout(match: SqlMatcher = () => true): Promise<FaultedCommand> {
    return this.#arm('inject', [COM_QUERY], match)
  }

  holdNext(match: SqlMatcher = () => true): Promise<FaultedCommand> {
    return this.#arm('hold', [COM_QUERY, COM_STMT_EXECUTE], match)
  }

  setLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be a finite number >= 0, got ${ms}`)
    this.#latencyMs = ms
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const rule of this.#rules) rule.reject(new Error('fault proxy closed before the fault happened'))
      this.#rules = []
      this.#server.close(() => resolve())
      for (const link of [...this.#links]) {
        link.failCut('the proxy closed')
        this.#teardown(link, 'destroy')
      }
    })
    return this.#closed
  }

  #arm(kind: Rule['kind'], commands: number[], match: SqlMatcher): Promise<FaultedCommand> {
    const { rule, promise } = createRule(kind, commands, match)
    if (this.#closed) {
      rule.reject(new Error('fault proxy closed'))
    } else {
      this.#rules.push(rule)
    }
    return promise
  }

  #accept(client: Socket): void {
    const link = new Link(client, () => this.#latencyMs)
    this.#links.add(link)
    client.setNoDelay(true)
    client.on('error', () => undefined)
    client.on('close', () => {
      this.#links.delete(link)
      link.failCut('the client connection closed')
      this.#teardown(link, 'destroy')
    })
    client.on('data', (chunk: Buffer) => this.#fromClient(link, chunk))
    client.on('end', () => {
      if (link.state === 'open') link.toServer.push(() => link.upstream?.end())
    })

    if (this.#stalled) {
      // The client's SYN is answered (the kernel did that already) but nothing goes further.
      link.blackhole('the path stalled')
      return
    }

    const upstream = connect({ host: this.#target.host, port: this.#target.port, allowHalfOpen: true })
    link.upstream = upstream
    upstream.setNoDelay(true)
    upstream.on('error', () => undefined)
    upstream.on('data', (chunk: Buffer) => this.#fromServer(link, upstream, chunk))
    upstream.on('end', () => {
      if (link.state === 'open') link.toClient.push(() => link.client.end())
    })
    upstream.on('close', (hadError) => {
      if (link.state !== 'open') return
      // Mirror an upstream RST (MariaDB resets idle sessions at wait_timeout) as an RST, so a
      // client behind the proxy sees the same ECONNRESET it would see without it.
      link.toClient.push(() => this.#teardown(link, hadError ? 'reset' : 'destroy'))
    })
  }

  #fromServer(link: Link, upstream: Socket, chunk: Buffer): void {
    if (link.state !== 'open') return
    const cut = link.cut
    if (cut !== undefined) {
      // The statement has run and its reply is here: losing it now is the fault under test.
      link.cut = undefined
      this.#teardown(link, 'destroy')
      cut.rule.resolve(cut.command)
      return
    }
    link.toClient.push(() => write(link.client, upstream, chunk))
  }

  #forward(link: Link, data: Buffer, afterWrite?: () => void): void {
    if (data.length === 0) return
    link.toServer.push(() => {
      if (link.state !== 'open' || link.upstream === undefined) return
      write(link.upstream, link.client, data)
      afterWrite?.()
    })
  }

  #fromClient(link: Link, chunk: Buffer): void {
    if (link.state !== 'open') return
    if (link.opaque) {
      this.#forward(link, chunk)
      return
    }
    const buffer = link.buffer.length === 0 ? chunk : Buffer.concat([link.buffer, chunk])
    let offset = 0
    // Consecutive packets that need no decision go upstream as one write.
    let passFrom = 0
    while (link.state === 'open' && buffer.length - offset >= 4) {
      const length = buffer.readUIntLE(offset, 3)
      const sequenceId = buffer[offset + 3] ?? 0
      const end = offset + 4 + length
      if (buffer.length < end) break
      const packet = buffer.subarray(offset, end)
      const payload = buffer.subarray(offset + 4, end)
      const start = offset
      offset = end

      if (link.message !== undefined) {
        link.message.packets.push(packet)
        link.message.payloads.push(payload)
        if (length < MAX_PAYLOAD) {
          const message = link.message
          link.message = undefined
          this.#command(link, message, sequenceId)
        }
        passFrom = offset
        continue
      }

      if (!link.greeted) {
        link.greeted = true
        const capabilities = payload.length >= 4 ? payload.readUInt32LE(0) : 0
        if ((capabilities & (CLIENT_SSL | CLIENT_COMPRESS)) !== 0) {
          // After this packet the stream is TLS or compressed frames; parsing it would
          // misread every byte, so pass the rest of the connection through untouched.
          link.opaque = true
          this.#forward(link, buffer.subarray(passFrom))
          link.buffer = Buffer.alloc(0)
          return
        }
        continue
      }

      // Sequence id 0 from the client marks a new command; every other client packet
      // (handshake, auth switch, LOAD DATA LOCAL contents) continues an exchange.
      if (sequenceId !== 0) continue
      this.#forward(link, buffer.subarray(passFrom, start))
      passFrom = offset
      const message: PendingMessage = { packets: [packet], payloads: [payload] }
      if (length === MAX_PAYLOAD) {
        link.message = message
      } else {
        this.#command(link, message, sequenceId)
      }
    }
    if (link.state !== 'open') return
    this.#forward(link, buffer.subarray(passFrom, offset))
    // Copy the tail so a small leftover does not pin a large chunk in memory.
    link.buffer = Buffer.from(buffer.subarray(offset))
  }

  /** Handles one whole client command: forwarded untouched unless an armed fault matches it. */
  #command(link: Link, message: PendingMessage, lastSequenceId: number): void {
    if (this.#recording) {
      const payload = message.payloads.length === 1 ? (message.payloads[0] ?? Buffer.alloc(0)) : Buffer.concat(message.payloads)
      const code = payload[0] ?? -1
      this.#recording.push({ code, sql: code === COM_QUERY || code === COM_STMT_PREPARE ? payload.subarray(1).toString('utf8') : '' })
    }
    const bytes = message.packets.length === 1 ? (message.packets[0] ?? Buffer.alloc(0)) : Buffer.concat(message.packets)
    const rule = this.#takeRule(message)
    if (rule === undefined) {
      this.#forward(link, bytes)
      return
    }
    const { rule: matched, command } = rule
    if (matched.kind === 'cut') {
      // Armed only once the bytes are actually written, so with latency on, no earlier
      // reply still in flight can be mistaken for this command's.
      this.#forward(link, bytes, () => {
        link.cut = { rule: matched, command }
      })
      return
    }
    if (matched.kind === 'hold') {
      link.blackhole('the connection was held')
      matched.resolve(command)
      return
    }
    // inject: the query never reaches the server; the "server" answers and hangs up. The link
    // stops forwarding at once, so nothing from the discarded upstream can race the packet.
    const packet = errPacket(lastSequenceId + 1, ER_CLIENT_INTERACTION_TIMEOUT, 'HY000', INTERACTION_TIMEOUT_MESSAGE)
    link.retire()
    link.upstream?.destroy()
    link.toClient.push(() => {
      if (link.client.destroyed) {
        matched.reject(new Error('injectInteractionTimeout: the client closed before the error could be sent'))
        return
      }
      link.client.write(packet)
      setTimeout(() => {
        link.client.end(() => matched.resolve(command))
        // If the client never closes its side, do it for it; the session is over either way.
        setTimeout(() => link.client.destroy(), 1_000).unref()
      }, INJECT_CLOSE_DELAY_MS)
    })
  }

  #takeRule(message: PendingMessage): { rule: Rule; command: FaultedCommand } | undefined {
    if (this.#rules.length === 0) return undefined
    const first = message.payloads[0]
    const code = first?.[0]
    if (code !== COM_QUERY && code !== COM_STMT_EXECUTE) return undefined
    let sql = ''
    if (code === COM_QUERY) {
      const payload = message.payloads.length === 1 ? (first ?? Buffer.alloc(0)) : Buffer.concat(message.payloads)
      sql = payload.subarray(1).toString('utf8')
    }
    for (const [index, rule] of this.#rules.entries()) {
      if (!rule.commands.has(code)) continue
      let matches: boolean
      try {
        matches = rule.match(sql)
      } catch (error) {
        // A throwing matcher is a bug in the test; surface it through the fault's promise.
        this.#rules.splice(index, 1)
        rule.reject(error instanceof Error ? error : new Error(String(error)))
        return this.#takeRule(message)
      }
      if (!matches) continue
      this.#rules.splice(index, 1)
      return { rule, command: { command: code === COM_QUERY ? 'COM_QUERY' : 'COM_STMT_EXECUTE', sql } }
    }
    return undefined
  }

  #teardown(link: Link, how: 'reset' | 'destroy'): void {
    link.state = 'closed'
    link.toServer.clear()
    link.toClient.clear()
    if (how === 'reset') {
      hardClose(link.client)
      hardClose(link.upstream)
    } else {
      link.client.destroy()
      link.upstream?.destroy()
    }
  }
}

/**
 * Starts a fault proxy on 127.0.0.1 (a free port) that forwards to `target`. Traffic passes
 * untouched until a fault method is called. Call `close()` when done (e.g. in `afterEach`).
 *
 * @example
 * const proxy = await startFaultProxy({ host: '127.0.0.1', port: 3306 })
 * const connection = await mysql.createConnection(proxy.url())
 * const cut = proxy.cutNextResponse((sql) => sql.startsWith('INSERT'))
 * await expect(connection.query('INSERT INTO t VALUES (1)')).rejects.toThrow()
 * await cut
 */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  // allowHalfOpen: a client's FIN must not close our side on its own; whether it reaches the
  // server is the proxy's decision (a stalled path swallows it).
  const server = createServer({ allowHalfOpen: true })
  const proxy = new Proxy(server, target)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  return proxy
}
