/**
 * @module
 * The health probe of one host: a one-connection pool of its own (so a probe never waits
 * behind the application for a slot, and never counts in the alias's stats), each query
 * bounded by a timeout after which the connection is destroyed. It asks the host itself:
 * is it writable, is it a ready Galera node, is it replicating and how far.
 */
import mysql from 'mysql2'
import type { Pool, PoolConnection, PoolOptions } from 'mysql2'
import { closeNow } from '../close-now.js'
import { ErrorCodes, LifespanError } from '../errors.js'
import { type GtidPosition, parseGtidPosition } from './gtid.js'

/** What a candidate writer says about itself. */
export interface WriterView {
  /** `@@read_only = 0`, and on Galera `wsrep_ready = ON`. */
  writable: boolean
  /** Why not writable, for logs and stats. */
  state: 'writable' | 'read-only' | 'not-ready'
  /** `@@gtid_binlog_pos` (MariaDB), the reference replicas are measured against. */
  binlogPos: GtidPosition | undefined
}

/** What a replica says about its replication. */
export interface ReplicaView {
  /** False when `SHOW SLAVE STATUS` could not be read (privilege): thread states unknown. */
  statusKnown: boolean
  /** `SHOW SLAVE STATUS` returned a row. */
  isReplica: boolean
  ioRunning: boolean
  sqlRunning: boolean
  /** `Seconds_Behind_Master`; null when the server does not know (SQL thread stopped). */
  secondsBehind: number | null
  /** `@@gtid_slave_pos` (MariaDB). */
  slavePos: GtidPosition | undefined
  /** `@@read_only`, to warn about a writable "replica". */
  readOnly: boolean
  /** For a Galera node: whether `wsrep_ready` is ON; undefined for a server without Galera. */
  galera: boolean | undefined
}

type Row = Record<string, unknown>

/** @internal */
export class HostProbe {
  readonly #pool: Pool
  readonly #timeoutMs: number
  #closed = false

  constructor(options: PoolOptions, timeoutMs: number) {
    this.#timeoutMs = timeoutMs
    this.#pool = mysql.createPool({ ...options, connectionLimit: 1, maxIdle: 1, queueLimit: 0, connectTimeout: timeoutMs })
    // A probe connection that dies between rounds must not crash the process.
    this.#pool.on('connection', (conn) => conn.on('error', () => {}))
  }

  /** One statement within the probe timeout (connecting included); on expiry the connection is destroyed. */
  query(sql: string): Promise<Row[]> {
    if (this.#closed) return Promise.reject(new LifespanError('probe closed', { code: ErrorCodes.STOPPED }))
    return new Promise((resolve, reject) => {
      let conn: PoolConnection | undefined
      let settled = false
      const finish = (err: unknown, rows?: Row[]): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err) {
          // The connection may be wedged or dead: never reuse it for the next round, nor keep its socket.
          if (conn) closeNow(conn)
          reject(err)
        } else {
          conn?.release()
          resolve(rows ?? [])
        }
      }
      const timer = setTimeout(() => finish(new LifespanError(`health probe got no answer within ${this.#timeoutMs} ms`, { code: ErrorCodes.PING_FAILED })), this.#timeoutMs)
      this.#pool.getConnection((err, c) => {
        if (err) return finish(err)
        conn = c
        if (settled) return closeNow(c)
        c.query(sql, (e, rows) => finish(e, rows as Row[]))
      })
    })
  }

  /** Is this host writable? A Galera node counts only when `wsrep_ready` is ON; `@@wsrep_on` is read first because a server without Galera reports `wsrep_ready = OFF`. */
  async writer(): Promise<WriterView> {
    const [ro] = await this.query('SELECT @@global.read_only AS ro')
    const vars = toMap(await this.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'gtid_binlog_pos')"))
    let ready = true
    if (String(vars.get('wsrep_on') ?? 'OFF').toUpperCase() === 'ON') {
      const status = toMap(await this.query("SHOW GLOBAL STATUS LIKE 'wsrep_ready'"))
      ready = String(status.get('wsrep_ready') ?? 'OFF').toUpperCase() === 'ON'
    }
    const readOnly = Number(ro?.ro) !== 0
    const state = !ready ? 'not-ready' : readOnly ? 'read-only' : 'writable'
    const pos = vars.get('gtid_binlog_pos')
    return { writable: state === 'writable', state, binlogPos: pos === undefined ? undefined : parseGtidPosition(pos) }
  }

  /** Replication threads, lag and GTID position of this host as a replica. */
  async replica(): Promise<ReplicaView> {
    let statusKnown = true
    let status: Row | undefined
    try {
      ;[status] = await this.query('SHOW SLAVE STATUS')
    } catch (err) {
      // 1227: the user lacks REPLICA MONITOR / REPLICATION CLIENT; fall back to positions alone.
      if ((err as { errno?: unknown }).errno !== 1227) throw err
      statusKnown = false
    }
    const vars = toMap(await this.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('gtid_slave_pos', 'read_only', 'wsrep_on')"))
    let galera: boolean | undefined
    if (String(vars.get('wsrep_on') ?? 'OFF').toUpperCase() === 'ON') {
      const ready = toMap(await this.query("SHOW GLOBAL STATUS LIKE 'wsrep_ready'"))
      galera = String(ready.get('wsrep_ready') ?? 'OFF').toUpperCase() === 'ON'
    }
    const behind = status?.Seconds_Behind_Master
    const pos = vars.get('gtid_slave_pos')
    return {
      statusKnown,
      isReplica: status !== undefined,
      ioRunning: status?.Slave_IO_Running === 'Yes',
      sqlRunning: status?.Slave_SQL_Running === 'Yes',
      secondsBehind: behind === null || behind === undefined ? null : Number(behind),
      slavePos: pos === undefined ? undefined : parseGtidPosition(pos),
      readOnly: String(vars.get('read_only') ?? 'OFF').toUpperCase() !== 'OFF',
      galera,
    }
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#pool.end(() => {})
  }
}

function toMap(rows: Row[]): Map<string, unknown> {
  return new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), r.Value]))
}
