/**
 * A line-protocol client for the socket-service tests: connect, send lines, read reply lines.
 */
import { connect, type Socket } from 'node:net'

/** One client connection to a `serveSocket` service. */
export interface LineClient {
  readonly socket: Socket
  /** Sends `line` followed by a newline. */
  send(line: string): void
  /** Resolves with the next reply line (rejects when the connection ends first). */
  next(): Promise<string>
  /** Resolves once the server ended the connection. */
  readonly ended: Promise<void>
}

/** Connects to `port` on 127.0.0.1 (or to a unix socket path). */
export async function lineClient(target: number | string): Promise<LineClient> {
  const socket = typeof target === 'number' ? connect({ host: '127.0.0.1', port: target }) : connect(target)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.setEncoding('utf8')
  let buffer = ''
  const lines: string[] = []
  const waiters: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = []
  let closed = false
  const flush = (): void => {
    while (lines.length > 0 && waiters.length > 0) waiters.shift()?.resolve(lines.shift() as string)
    if (closed) for (const w of waiters.splice(0)) w.reject(new Error('connection ended before a reply'))
  }
  socket.on('data', (chunk: string) => {
    buffer += chunk
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, newline))
      buffer = buffer.slice(newline + 1)
    }
    flush()
  })
  socket.on('error', () => {})
  const ended = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true
      flush()
      resolve()
    }),
  )
  return {
    socket,
    send: (line) => socket.write(`${line}\n`),
    next: () => new Promise((resolve, reject) => {
      waiters.push({ resolve, reject })
      flush()
    }),
    ended,
  }
}

/** Sends one request on a fresh connection and resolves with the reply line. */
export async function request(target: number | string, line: string): Promise<string> {
  const client = await lineClient(target)
  try {
    client.send(line)
    return await client.next()
  } finally {
    client.socket.end()
  }
}
