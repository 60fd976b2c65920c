/**
 * @module
 * What the server says about a connection's session: whether it is inside a transaction and
 * whether its session state changed. The server puts both in the status flags of every reply
 * (OK and EOF packets), whatever opened the transaction (`transaction()`, `BEGIN`,
 * `SET autocommit = 0`, `XA START`, an ORM): no SQL is parsed to know it.
 *
 * mysql2 parses those flags but keeps only some (`ResultSetHeader.serverStatus` of OK replies,
 * none of a result set's final EOF), so a small tap reads them from each packet before mysql2
 * handles it. The tap relies on mysql2 internals (`handlePacket`, `_command.next`); the suite
 * asserts they exist, so a mysql2 that renames them fails loudly, not silently.
 */
import type { PoolConnection } from 'mysql2'
import { afterSpaces } from './retry.js'

const IN_TRANS = 0x0001
const AUTOCOMMIT = 0x0002
const SESSION_STATE_CHANGED = 0x4000
/** MySQL's EOF packet is at most 9 bytes; mysql2 uses the same bound to tell it from a row. */
const EOF_MAX_LENGTH = 13

/** The session as the server's replies describe it. */
export class SessionState {
  /** Status flags of the last reply (the handshake starts in autocommit, outside a transaction). */
  status = AUTOCOMMIT
  /**
   * The session differs from a fresh one: a reply carried SERVER_SESSION_STATE_CHANGED, or a
   * statement the server does not report did something that lasts (see {@link touchesSessionUnseen}).
   */
  dirty = false
  /** A `USE` changed the default database (COM_RESET_CONNECTION keeps it: the reset must put it back). */
  schemaChanged = false
  /**
   * A time zone a tool set on the session (src/session-zone.ts), kept between scopes; `undefined`
   * while the session has its handshake's zone.
   */
  zone: string | undefined = undefined

  /**
   * Inside a transaction: one is open, or autocommit is off (every statement then opens one
   * that only COMMIT or ROLLBACK ends).
   */
  get inTransaction(): boolean {
    return (this.status & IN_TRANS) !== 0 || (this.status & AUTOCOMMIT) === 0
  }

  /** Records the status flags of a reply. */
  observe(status: number): void {
    this.status = status
    if ((status & SESSION_STATE_CHANGED) !== 0) this.dirty = true
  }
}

interface Packet {
  buffer: Buffer
  offset: number
  end: number
}

interface Command {
  next?: unknown
  resultsetHeader?: unknown
}

interface TappableConnection {
  handlePacket(packet: Packet | null): unknown
  _command?: Command
}

/**
 * Reads the status flags of every reply `conn` receives into `state`. Cheap: one byte compare
 * per packet, a few more for the last packet of a reply.
 */
export function tapSessionState(conn: PoolConnection, state: SessionState): void {
  const target = conn as unknown as TappableConnection
  const handle = target.handlePacket
  target.handlePacket = function tapped(this: TappableConnection, packet: Packet | null): unknown {
    if (packet) {
      const { buffer, offset } = packet
      const marker = buffer[offset]
      if (marker === 0xfe) {
        if (packet.end - offset < EOF_MAX_LENGTH) state.observe(buffer.readUInt16LE(offset + 3))
      } else if (marker === 0x00) {
        // 0x00 also starts a binary-protocol row; an OK packet comes where a result set header is expected.
        const cmd = this._command
        if (cmd !== undefined && cmd.next === cmd.resultsetHeader) {
          const status = okStatus(buffer, offset + 1, packet.end)
          if (status !== undefined) state.observe(status)
        }
      }
    }
    return handle.call(this, packet)
  }
}

/** The status flags of an OK packet whose body starts at `at`: after two length-encoded integers. */
function okStatus(buffer: Buffer, at: number, end: number): number | undefined {
  let pos = at
  for (let i = 0; i < 2; i++) {
    const first = buffer[pos]
    if (first === undefined) return undefined
    pos += first < 0xfb ? 1 : first === 0xfc ? 3 : first === 0xfd ? 4 : 9
  }
  return pos + 2 <= end ? buffer.readUInt16LE(pos) : undefined
}

const GET_LOCK = /\bget_lock\s*\(/i
const USE = /^\s*use\s/i

/** Whether `sql` is a `USE db` statement: the one session change a reset does not undo. */
export function changesSchema(sql: string): boolean {
  // Most statements do not start with "u": the pattern runs only for those that may be USE.
  const first = sql.charCodeAt(afterSpaces(sql))
  return (first > 127 || (first | 32) === 117) && USE.test(sql)
}
/** An assignment to a user variable inside a statement (`@a := 1`, `INTO @a`); reading one changes nothing. */
const USER_VARIABLE_WRITE = /(?:^|[^@])@(?:[\w$.]+|`[^`]*`|'[^']*'|"[^"]*")\s*:=|\binto\s+@/i

/**
 * Session state the server does not report in its status flags (measured on MariaDB 10.11):
 * user variables assigned by a `SELECT` (`SELECT @a := 1`, `SELECT … INTO @a`) and named locks
 * taken with `GET_LOCK()`. Everything else (`SET`, `SET NAMES`, temporary tables, `USE`,
 * `PREPARE`) raises SERVER_SESSION_STATE_CHANGED. A false positive costs one reset, never a
 * wrong answer.
 */
export function touchesSessionUnseen(sql: string): boolean {
  // The plain scans first: most statements have no `@` and no `(`, and skip both patterns.
  return (sql.includes('@') && USER_VARIABLE_WRITE.test(sql)) || (sql.includes('(') && GET_LOCK.test(sql))
}
