/**
 * @module
 * Doctor checks of the server's state and the account: TLS, read-only, replication, Galera,
 * privileges. Pure functions over {@link ServerFacts}.
 */
import type { ServerFacts } from './facts.js'
import { finding, type Finding } from './finding.js'
import { isLoopback } from './target.js'

const on = (value: string | undefined): boolean => value !== undefined && value !== 'OFF' && value !== '0' && value !== ''

/** Whether the doctor's connection used TLS, and whether it should have. */
export function checkTls(facts: ServerFacts): Finding {
  const offered = facts.variables.have_ssl
  if (facts.tls.used) return finding('tls', 'ok', `TLS in use (${facts.tls.version} ${facts.tls.cipher})`, 'Password and data are encrypted on the network.')
  if (isLoopback(facts.host)) {
    return finding('tls', 'ok', `no TLS, on loopback (have_ssl ${offered ?? '?'})`, 'Traffic to this host never leaves the machine.')
  }
  const why = 'Password exchange, statements and results cross the network in clear text.'
  if (offered === 'YES') {
    return finding('tls', 'warn', 'no TLS on this connection, though the server offers it', why,
      'Ask for it in the URL: ?ssl={"rejectUnauthorized":true} (with the CA in the options object: ssl: { ca }), and set require_secure_transport=ON on the server.')
  }
  return finding('tls', 'warn', `no TLS: the server has none (have_ssl ${offered ?? '?'})`, why, 'Configure ssl_cert / ssl_key on the server, then connect with ssl options.')
}

/** read_only, super_read_only (MySQL only), innodb_read_only. */
export function checkReadOnly(facts: ServerFacts): Finding {
  const flags = ['read_only', 'super_read_only', 'innodb_read_only'].filter((name) => on(facts.variables[name]))
  if (flags.length === 0) {
    const checked = ['read_only', 'super_read_only', 'innodb_read_only'].filter((name) => facts.variables[name] !== undefined)
    return finding('read-only', 'ok', `writable (${checked.map((n) => `${n} OFF`).join(', ')})`, 'Writes are accepted.')
  }
  return finding('read-only', 'warn', `read-only: ${flags.map((n) => `${n} ${facts.variables[n]}`).join(', ')}`,
    'Writes fail with 1290 (or 1015/1036 under innodb_read_only). The library treats that as a failover and re-runs the statement on a fresh connection, which only helps once a writable server answers at this address. Expected for a replica alias; wrong for a writer.',
    'Point the writer alias at the primary (or the cluster\'s writer endpoint); use this server as a replica alias.')
}

/** SHOW REPLICA STATUS / SHOW SLAVE STATUS. */
export function checkReplication(facts: ServerFacts): Finding {
  const r = facts.replication
  if (r.state === 'unknown') {
    return finding('replication', 'ok', 'replication state unknown: the account may not read it',
      `The server said: ${r.reason}. Reading it needs REPLICATION CLIENT (MySQL) or SLAVE MONITOR / REPLICA MONITOR (MariaDB); the library itself does not need it.`)
  }
  if (r.state === 'none') return finding('replication', 'ok', 'not a replica', 'This server does not replicate from another one.')
  const title = `replica: IO ${r.ioRunning}, SQL ${r.sqlRunning}, ${r.secondsBehind === null ? 'lag unknown' : `${r.secondsBehind} s behind`}`
  if (r.ioRunning !== 'Yes' || r.sqlRunning !== 'Yes') {
    return finding('replication', 'warn', title,
      `Replication is stopped${r.lastError ? ` (${r.lastError})` : ''}: reads here get older and older data.`, 'Fix and restart replication, or take this server out of the replica list.')
  }
  if (!on(facts.variables.read_only)) {
    return finding('replication', 'warn', title, 'A replica that accepts writes lets a misrouted write land here only, where the source never sees it.', 'Set read_only=ON on replicas.')
  }
  if (r.secondsBehind !== null && r.secondsBehind > 30) {
    return finding('replication', 'warn', title, 'Reads here miss the last writes: a request that writes on the primary and then reads here does not see its own write.', 'Find why the replica lags; read your own writes from the primary.')
  }
  return finding('replication', 'ok', title, 'Replicating and read-only; fine for a replica alias.')
}

/** Galera: wsrep_on first, then whether the node serves queries. */
export function checkGalera(facts: ServerFacts): Finding | undefined {
  if (facts.variables.wsrep_on === undefined) return undefined
  if (facts.variables.wsrep_on !== 'ON') return finding('galera', 'ok', 'not a Galera node (wsrep_on OFF)', 'No cluster state to check.')
  const ready = facts.wsrep.wsrep_ready ?? '?'
  const status = facts.wsrep.wsrep_cluster_status ?? '?'
  const state = facts.wsrep.wsrep_local_state_comment ?? '?'
  const title = `Galera node: wsrep_ready ${ready}, cluster ${status}, ${state}, size ${facts.wsrep.wsrep_cluster_size ?? '?'}`
  if (ready !== 'ON' || status !== 'Primary') {
    return finding('galera', 'error', title,
      'The node is not part of the primary component: it refuses statements with 1047 "WSREP has not yet prepared node for application use".',
      'Bring the node back into the cluster, or list the other nodes in the alias\'s hosts so the pool moves to a ready one.')
  }
  if (state !== 'Synced') return finding('galera', 'warn', title, 'The node is catching up (donor or joiner): reads may be stale and writes slow.', 'Route traffic to synced nodes while it catches up.')
  return finding('galera', 'ok', title, 'The node is synced and in the primary component.')
}

/** What the account may do, and what of it matters to the library. */
export function checkPrivileges(facts: ServerFacts): Finding {
  const g = facts.grants
  const kill = 'At a shutdown deadline the library KILLs only connections of its own account, which needs no privilege.'
  if (!g.known) return finding('privileges', 'ok', 'privileges unknown (SHOW GRANTS failed)', `${kill} The server said: ${g.reason}.`)
  const has = (p: string): boolean => g.global.includes(p) || g.global.includes('ALL PRIVILEGES')
  const [major = 0, minor = 0] = facts.version.split('.').map(Number)
  // Who is exempt from read_only: MySQL: SUPER or CONNECTION_ADMIN; MariaDB: READ ONLY ADMIN,
  // which SUPER included before 10.11.
  const bypass = facts.flavour === 'mysql'
    ? (has('SUPER') || has('CONNECTION ADMIN')) && !on(facts.variables.super_read_only)
    : has('READ ONLY ADMIN') || (has('SUPER') && (major < 10 || (major === 10 && minor < 11)))
  const killOthers = has('SUPER') || has('CONNECTION ADMIN')
  const shown = g.global.includes('ALL PRIVILEGES') ? 'ALL PRIVILEGES' : g.global.join(', ') || 'none'
  const roles = g.roles ? ' (plus roles, not expanded here)' : ''
  const extras = [
    killOthers ? 'it can kill other accounts\' connections (SUPER / CONNECTION ADMIN)' : '',
    has('PROCESS') ? 'it can read every account\'s statements in the processlist (PROCESS)' : '',
  ].filter(Boolean)
  const extra = extras.length ? ` The account can do more than the library needs: ${extras.join('; ')}.` : ''
  if (bypass) {
    return finding('privileges', 'warn', `global privileges: ${shown}${roles}; read_only does not stop this account`,
      `${kill} But read_only does not apply to this account: after a failover, a write that reaches the demoted primary succeeds there instead of failing with 1290, so the library cannot move it to the new writer.${extra}`,
      'Give the application an account with only the data privileges it needs (SELECT, INSERT, UPDATE, DELETE, ... on its database).')
  }
  return finding('privileges', 'ok', `global privileges: ${shown}${roles}`, `${kill}${extra}`)
}
