/**
 * Throwaway replication topologies on loopback, built from disposable servers:
 * a MariaDB GTID primary with replicas, and a Galera cluster. Tests that fail over,
 * kill nodes or isolate them start one of these; nothing touches the shared server.
 *
 * Every node gets an unprivileged `app` user (password `app`): root holds READ_ONLY ADMIN
 * and may write to a read-only server, so a failover test must connect as `app` to see the
 * 1290 an application sees.
 */
import { type DisposableServer, freePort, startDisposableServer } from './disposable-server.js'

/** The unprivileged account every topology node has. */
export const APP_USER = { user: 'app', password: 'app' } as const
/** Where Debian's galera-4 package puts the provider. */
export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

type Row = Record<string, unknown>

async function rows(node: DisposableServer, sql: string, values?: unknown[]): Promise<Row[]> {
  return (await node.query(sql, values)) as Row[]
}

/** Polls `check` every 50 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (err) {
      last = err
    }
    await sleep(50)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`)
}

/**
 * Created on one node only: in both topologies the statement replicates to the others.
 * Two host patterns because a TCP login from 127.0.0.1 may resolve to `localhost`.
 */
async function createAppUser(node: DisposableServer): Promise<void> {
  for (const host of ['%', 'localhost', '127.0.0.1']) {
    await node.query(`CREATE USER IF NOT EXISTS 'app'@'${host}' IDENTIFIED BY 'app'`)
    // SLAVE MONITOR lets the health probe read SHOW SLAVE STATUS, as the README asks of real users.
    await node.query(`GRANT ALL ON test.* TO 'app'@'${host}'`)
    await node.query(`GRANT SLAVE MONITOR, BINLOG MONITOR ON *.* TO 'app'@'${host}'`)
  }
}

/** One node's `@@server_id`. */
export async function serverId(node: DisposableServer): Promise<number> {
  const [row] = await rows(node, 'SELECT @@server_id AS id')
  return Number(row?.id)
}

/** A MariaDB primary with GTID replicas; see {@link startReplicationSet}. */
export interface ReplicationSet {
  /** Every node in start order: the first primary, then the replicas. */
  readonly nodes: readonly DisposableServer[]
  /** The node that is primary now (changes with {@link ReplicationSet.promote}). */
  readonly primary: DisposableServer
  /** Nodes replicating from the primary now. */
  readonly replicas: readonly DisposableServer[]
  /** `host:port` of a node, as the `hosts`/`replicas` options take it. */
  address(node: DisposableServer): string
  /** `SET GLOBAL read_only`, and with `killConnections` every `app` connection killed (what a failover tool does to a demoted primary). */
  setReadOnly(node: DisposableServer, on: boolean, options?: { killConnections?: boolean }): Promise<void>
  /** Kills every connection of `app` on `node`. */
  killAppConnections(node: DisposableServer): Promise<void>
  /**
   * Makes `node` the primary: waits until it applied everything it received, stops and resets its
   * replication, turns read_only off, and points every other live replica at it.
   */
  promote(node: DisposableServer): Promise<void>
  /** `STOP SLAVE SQL_THREAD` (the replica keeps receiving but stops applying: lag grows). */
  stopSqlThread(node: DisposableServer): Promise<void>
  /** `START SLAVE SQL_THREAD`. */
  startSqlThread(node: DisposableServer): Promise<void>
  /** Waits until every live replica has applied the primary's current position. */
  sync(timeoutMs?: number): Promise<void>
  /** SIGKILL of `node`, resolved once the process has fully exited. */
  kill(node: DisposableServer): Promise<void>
  /** Stops every node. Idempotent. */
  stop(): Promise<void>
}

/** Options of {@link startReplicationSet}. */
export interface ReplicationSetOptions {
  /** How many replicas. Default 2. */
  replicas?: number
  /**
   * Semi-synchronous replication: the primary acknowledges a commit only once a replica has
   * received it, so a promoted replica holds every acknowledged write even after a kill -9 of the
   * primary. Default true. (With plain async replication a crash can lose acknowledged writes:
   * that is replication's contract, not the client's.)
   */
  semiSync?: boolean
}

/**
 * Starts a GTID primary and `replicas` replicas on loopback (distinct `--server-id`, `--log-bin`,
 * `--log-slave-updates`, replicas `--read-only`), with `CHANGE MASTER TO … MASTER_USE_GTID = slave_pos`.
 * Resolves once every replica runs both threads and has applied the primary's position.
 */
export async function startReplicationSet(options: ReplicationSetOptions = {}): Promise<ReplicationSet> {
  const count = options.replicas ?? 2
  const semiSync = options.semiSync ?? true
  const args = (id: number, readOnly: boolean): string[] => [
    `--server-id=${id}`,
    '--log-bin=mysql-bin',
    '--log-slave-updates',
    '--binlog-format=ROW',
    `--read-only=${readOnly ? 1 : 0}`,
    // Replicas reconnect fast after their primary vanished or changed.
    '--master-retry-count=100000',
    ...(semiSync
      ? ['--rpl-semi-sync-master-enabled=ON', '--rpl-semi-sync-slave-enabled=ON', '--rpl-semi-sync-master-timeout=3000']
      : []),
  ]
  const started: DisposableServer[] = []
  try {
    started.push(await startDisposableServer({ extraArgs: args(1, false) }))
    const more = await Promise.all(Array.from({ length: count }, (_, i) => startDisposableServer({ extraArgs: args(i + 2, true) })))
    started.push(...more)
  } catch (err) {
    await Promise.all(started.map((n) => n.stop()))
    throw err
  }
  const set = new ReplicationSetImpl(started)
  try {
    await createAppUser(started[0] as DisposableServer)
    for (const replica of started.slice(1)) await set.follow(replica, started[0] as DisposableServer)
    await set.sync()
  } catch (err) {
    await set.stop()
    throw err
  }
  return set
}

class ReplicationSetImpl implements ReplicationSet {
  readonly nodes: readonly DisposableServer[]
  #primary: DisposableServer
  #replicas: DisposableServer[]
  #dead = new Set<DisposableServer>()

  constructor(nodes: DisposableServer[]) {
    this.nodes = nodes
    this.#primary = nodes[0] as DisposableServer
    this.#replicas = nodes.slice(1)
  }

  get primary(): DisposableServer {
    return this.#primary
  }

  get replicas(): readonly DisposableServer[] {
    return this.#replicas
  }

  address(node: DisposableServer): string {
    return `${node.host}:${node.port}`
  }

  /** Points `replica` at `primary` from the replica's own GTID position. */
  async follow(replica: DisposableServer, primary: DisposableServer): Promise<void> {
    await replica.query('STOP SLAVE')
    await replica.query(
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_PASSWORD='', ` +
        'MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos',
    )
    await replica.query('START SLAVE')
    await waitFor(`replica ${replica.port} to run both threads`, async () => {
      const [s] = await rows(replica, 'SHOW SLAVE STATUS')
      return s?.Slave_IO_Running === 'Yes' && s?.Slave_SQL_Running === 'Yes'
    })
  }

  async setReadOnly(node: DisposableServer, on: boolean, options: { killConnections?: boolean } = {}): Promise<void> {
    await node.query(`SET GLOBAL read_only = ${on ? 1 : 0}`)
    if (options.killConnections) await this.killAppConnections(node)
  }

  async killAppConnections(node: DisposableServer): Promise<void> {
    for (const id of await node.connectionIds('app')) await node.query(`KILL CONNECTION ${id}`).catch(() => undefined)
  }

  async promote(node: DisposableServer): Promise<void> {
    // Everything the replica received (semi-sync: every acknowledged commit) is applied first.
    await waitFor(`replica ${node.port} to apply its relay log`, async () => {
      const [s] = await rows(node, 'SHOW SLAVE STATUS')
      if (!s) return true
      return s.Relay_Master_Log_File === s.Master_Log_File && Number(s.Exec_Master_Log_Pos) >= Number(s.Read_Master_Log_Pos)
    })
    await node.query('STOP SLAVE')
    await node.query('RESET SLAVE ALL')
    await node.query('SET GLOBAL read_only = 0')
    const old = this.#primary
    this.#primary = node
    this.#replicas = this.nodes.filter((n) => n !== node && n !== old && !this.#dead.has(n))
    for (const replica of this.#replicas) await this.follow(replica, node)
  }

  async stopSqlThread(node: DisposableServer): Promise<void> {
    await node.query('STOP SLAVE SQL_THREAD')
  }

  async startSqlThread(node: DisposableServer): Promise<void> {
    await node.query('START SLAVE SQL_THREAD')
  }

  async sync(timeoutMs = 30_000): Promise<void> {
    const [p] = await rows(this.#primary, 'SELECT @@gtid_binlog_pos AS pos')
    const pos = String(p?.pos ?? '')
    for (const replica of this.#replicas) {
      if (this.#dead.has(replica)) continue
      const [r] = await rows(replica, 'SELECT MASTER_GTID_WAIT(?, ?) AS w', [pos, timeoutMs / 1000])
      if (Number(r?.w) !== 0) throw new Error(`replica ${replica.port} did not reach ${pos} within ${timeoutMs} ms`)
    }
  }

  async kill(node: DisposableServer): Promise<void> {
    this.#dead.add(node)
    this.#replicas = this.#replicas.filter((n) => n !== node)
    // DisposableServer.kill() resolves on the child's 'exit', which comes only when every thread is gone.
    await node.kill()
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()))
  }
}

/** A Galera cluster; see {@link startGaleraCluster}. */
export interface GaleraCluster {
  /** The nodes in start order. */
  readonly nodes: readonly DisposableServer[]
  /** `host:port` of a node. */
  address(node: DisposableServer): string
  /** A `wsrep` status variable of `node` (`wsrep_ready`, `wsrep_cluster_size`, …). */
  status(node: DisposableServer, name: string): Promise<string | undefined>
  /**
   * `gmcast.isolate=1`: the node leaves the primary component (every statement that reads a table
   * then fails with 1047). Resolves once `wsrep_ready` is OFF there.
   */
  isolate(node: DisposableServer): Promise<void>
  /** `gmcast.isolate=0`, resolved once the node is Synced again. */
  rejoin(node: DisposableServer): Promise<void>
  /** SIGKILL of `node`, resolved once the process has exited and the others carry on as a primary component. */
  kill(node: DisposableServer): Promise<void>
  /** Stops every node. Idempotent. */
  stop(): Promise<void>
}

/**
 * Starts a Galera cluster of `size` nodes on loopback. The first node bootstraps
 * (`--wsrep-new-cluster`); joiners start one after another (two at once race for the SST)
 * and receive the state by rsync. Resolves once every node is Synced with the full size.
 */
export async function startGaleraCluster(size = 3): Promise<GaleraCluster> {
  // One at a time, and never the same port twice: each node needs three.
  const taken = new Set<number>()
  const pick = async (): Promise<number> => {
    for (;;) {
      const port = await freePort()
      if (!taken.has(port)) {
        taken.add(port)
        return port
      }
    }
  }
  const ports: Array<{ g: number; i: number; s: number }> = []
  for (let n = 0; n < size; n++) ports.push({ g: await pick(), i: await pick(), s: await pick() })
  const address = `gcomm://${ports.map((p) => `127.0.0.1:${p.g}`).join(',')}`
  const nodes: DisposableServer[] = []
  const cluster = new GaleraClusterImpl(nodes)
  try {
    for (const [index, p] of ports.entries()) {
      const args = [
        '--wsrep-on=ON',
        `--wsrep-provider=${GALERA_PROVIDER}`,
        '--binlog-format=ROW',
        '--default-storage-engine=InnoDB',
        '--innodb-autoinc-lock-mode=2',
        `--wsrep-cluster-address=${address}`,
        `--wsrep-node-address=127.0.0.1:${p.g}`,
        `--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:${p.g};ist.recv_addr=127.0.0.1:${p.i}`,
        `--wsrep-sst-receive-address=127.0.0.1:${p.s}`,
        '--wsrep-sst-method=rsync',
        `--wsrep-node-name=node${index + 1}`,
        ...(index === 0 ? ['--wsrep-new-cluster'] : []),
      ]
      const node = await startDisposableServer({ extraArgs: args })
      nodes.push(node)
      await waitFor(`galera node ${index + 1} to be Synced in a cluster of ${index + 1}`, async () => {
        const state = await cluster.status(node, 'wsrep_local_state_comment')
        const n = await cluster.status(node, 'wsrep_cluster_size')
        return state === 'Synced' && Number(n) === index + 1
      })
    }
    await createAppUser(nodes[0] as DisposableServer)
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}

class GaleraClusterImpl implements GaleraCluster {
  readonly nodes: DisposableServer[]

  constructor(nodes: DisposableServer[]) {
    this.nodes = nodes
  }

  address(node: DisposableServer): string {
    return `${node.host}:${node.port}`
  }

  async status(node: DisposableServer, name: string): Promise<string | undefined> {
    const [row] = await rows(node, 'SHOW STATUS LIKE ?', [name])
    return row === undefined ? undefined : String(row.Value)
  }

  async isolate(node: DisposableServer): Promise<void> {
    await node.query("SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'")
    await waitFor(`node ${node.port} to leave the primary component`, async () => (await this.status(node, 'wsrep_ready')) === 'OFF')
  }

  async rejoin(node: DisposableServer): Promise<void> {
    await node.query("SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'")
    await waitFor(`node ${node.port} to be Synced again`, async () => (await this.status(node, 'wsrep_local_state_comment')) === 'Synced' && (await this.status(node, 'wsrep_ready')) === 'ON')
  }

  async kill(node: DisposableServer): Promise<void> {
    const index = this.nodes.indexOf(node)
    await node.kill()
    if (index >= 0) this.nodes.splice(index, 1)
    const survivors = this.nodes.length
    await waitFor('the survivors to form a primary component', async () => {
      for (const n of this.nodes) {
        if (Number(await this.status(n, 'wsrep_cluster_size')) !== survivors) return false
        if ((await this.status(n, 'wsrep_ready')) !== 'ON') return false
      }
      return true
    })
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()))
  }
}
