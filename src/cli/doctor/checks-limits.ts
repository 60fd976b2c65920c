/**
 * @module
 * Doctor checks of the server's limits against the pool: version, idle timeouts against
 * `maxAgeMs` and `aliveBypassMs`, connection counts against pool size × instances, network
 * timeouts, `max_connect_errors`. Pure functions over {@link ServerFacts}.
 */
import { DEFAULTS } from '../../index.js'
import type { ServerFacts } from './facts.js'
import { duration, finding, type DoctorSettings, type Finding } from './finding.js'

const num = (facts: ServerFacts, name: string): number | undefined => {
  const raw = facts.variables[name]
  return raw === undefined || raw === '' ? undefined : Number(raw)
}

/** Below this `wait_timeout` (s) ordinary pauses inside a transaction lose the connection. */
const WAIT_TIMEOUT_ERROR_S = 10
/** Below this `wait_timeout` (s) the pool churns and slow scopes are at risk. */
const WAIT_TIMEOUT_WARN_S = 60
/** Trusting a connection unchecked for longer than this leaves network drops to the statement. */
const BYPASS_WARN_MS = 5_000

/** Version and flavour. */
export function checkServer(facts: ServerFacts): Finding {
  const name = facts.flavour === 'mariadb' ? 'MariaDB' : 'MySQL'
  const comment = facts.variables.version_comment ? ` (${facts.variables.version_comment})` : ''
  const title = `${name} ${facts.version}${comment}`
  const [major = 0] = facts.version.split('.').map(Number)
  if (facts.flavour === 'mysql' && major < 8) {
    return finding('server', 'warn', title, 'MySQL 5.x is past its end of life: no security fixes.', 'Upgrade to MySQL 8.0 or later.')
  }
  const why = facts.flavour === 'mysql'
    ? 'MySQL 8.0.24+ answers a connection idle past wait_timeout with error 4031 before closing it; the library treats it as a disconnect.'
    : 'MariaDB closes a connection idle past wait_timeout silently; the library replaces such connections before the server does.'
  return finding('server', 'ok', title, why)
}

/** How long before `wait_timeout` the library stops trusting an idle connection (10 %, 0.5 to 5 s). */
function idleLimitMs(waitTimeoutS: number): number {
  const ms = waitTimeoutS * 1_000
  return Math.max(0, ms - Math.min(5_000, Math.max(500, ms * 0.1)))
}

/** `wait_timeout` / `interactive_timeout` against `maxAgeMs` and the bypass window. */
export function checkIdleTimeouts(facts: ServerFacts, settings: DoctorSettings): Finding[] {
  const wt = facts.sessionWaitTimeout
  const globalWt = num(facts, 'wait_timeout')
  const interactive = num(facts, 'interactive_timeout')
  const notes = [
    `mysql2 does not connect as an interactive client, so interactive_timeout (${interactive ?? '?'} s) does not apply to the pool.`,
  ]
  if (globalWt !== undefined && globalWt !== wt) notes.push(`The session value differs from the global ${globalWt} s (set per account or by init_connect); the session value is what the pool gets.`)
  const limit = idleLimitMs(wt)
  const out: Finding[] = []
  const human = wt >= 120 ? ` (${duration(wt * 1_000)})` : ''
  const title = `wait_timeout ${wt} s${human}: idle connections are replaced without a ping after ${duration(limit)} idle`
  const pause = `A scope or transaction that pauses longer than ${wt} s between statements (an HTTP call, a slow step of a job) finds its connection closed by the server: reads are re-run, writes and transactions fail. Each idle gap longer than that also costs a new connection.`
  const fix = 'Raise wait_timeout (the default 28800 s is fine for a pool: the library replaces idle connections before the server closes them). Do not lower it as MySQLTuner suggests; that works against pools.'
  if (wt < WAIT_TIMEOUT_ERROR_S) out.push(finding('wait-timeout', 'error', title, `${pause} ${notes.join(' ')}`, fix))
  else if (wt < WAIT_TIMEOUT_WARN_S) out.push(finding('wait-timeout', 'warn', title, `${pause} ${notes.join(' ')}`, fix))
  else out.push(finding('wait-timeout', 'ok', title, `The library reads wait_timeout on every new connection and replaces a connection idle that long before the server closes it. ${notes.join(' ')}`))

  const age = settings.maxAgeMs
  if (age === 0) {
    out.push(finding('max-age', 'warn', 'maxAgeMs 0: connections live forever',
      'Without a lifetime cap a busy connection is never renewed: server-side memory it holds is never released, and a proxy, load balancer or credential rotation that ends connections after a fixed time hits it mid-statement.',
      'Set maxAgeMs a few seconds below the shortest connection lifetime any proxy or load balancer on the path enforces (HikariCP\'s rule), e.g. the default 1800000 (30 min).'))
  } else {
    const vsServer = age > limit
      ? `It is longer than the server's idle limit: fine here, because connections idle that long are replaced by the idle check first; maxAgeMs only renews connections in steady use. (A bare mysql2 pool or HikariCP would need it below wait_timeout.)`
      : `It is shorter than the server's idle limit, so no connection outlives wait_timeout.`
    out.push(finding('max-age', 'ok', `maxAgeMs ${age} (${duration(age)}, less up to 2.5 % jitter)`,
      `${vsServer} The server cannot tell about limits on the network path: keep maxAgeMs a few seconds below any connection lifetime a proxy or load balancer enforces.`))
  }

  const bypass = settings.aliveBypassMs
  const bypassTitle = `aliveBypassMs ${bypass}: connections used within ${duration(bypass)} are trusted without a ping`
  if (bypass > BYPASS_WARN_MS) {
    out.push(finding('alive-bypass', 'warn', bypassTitle,
      'A connection dropped on the network (NAT or load balancer idle timeout, failover) inside that window is handed out unchecked: its first statement fails (a read is re-run, a write surfaces the error).',
      `Keep aliveBypassMs at a few hundred ms (default ${DEFAULTS.aliveBypassMs}); the ping it saves costs one round trip.`))
  } else {
    out.push(finding('alive-bypass', 'ok', bypassTitle,
      `Connections idle longer are pinged (within pingTimeoutMs) before use; past ${duration(limit)} they are replaced without a ping.`))
  }
  return out
}

/** `max_connections` and `max_user_connections` against pool size × instances. */
export function checkConnectionCounts(facts: ServerFacts, settings: DoctorSettings): Finding[] {
  const { poolSize, instances } = settings
  const need = poolSize * instances
  const sizing = `${instances} instance${instances === 1 ? '' : 's'} × pool of ${poolSize} = ${need}`
  const out: Finding[] = []
  const max = num(facts, 'max_connections')
  if (max !== undefined) {
    // The doctor's own connection is one of Threads_connected.
    const others = Math.max(0, facts.threadsConnected - 1)
    const title = `max_connections ${max}, ${sizing} (${others} other connection${others === 1 ? '' : 's'} open now)`
    const fixMax = `Raise max_connections to at least ${Math.ceil(need * 1.25) + others}, or lower connectionLimit to ${Math.max(1, Math.floor((max * 0.8) / instances))} per instance.`
    if (need > max) {
      out.push(finding('max-connections', 'error', title,
        `Under load the pools open more connections than the server accepts: the extra ones get 1040 "Too many connections", and requests wait out acquireTimeoutMs and fail. Each instance may also open one short-lived connection at a shutdown deadline.`, fixMax))
    } else if (need + others > max || need > max * 0.8) {
      out.push(finding('max-connections', 'warn', title,
        'Little headroom: other clients, a deploy that runs old and new instances side by side, or the shutdown side connections can push the server to 1040 "Too many connections".', fixMax))
    } else {
      out.push(finding('max-connections', 'ok', title, 'Room for every pool at full size, a rolling deploy\'s overlap and the shutdown side connections.'))
    }
  }
  const account = facts.sessionMaxUserConnections
  const globalLimit = num(facts, 'max_user_connections') ?? 0
  const limit = account > 0 ? account : globalLimit
  if (limit <= 0) {
    out.push(finding('max-user-connections', 'ok', 'max_user_connections 0 (no per-account limit)', 'Only max_connections bounds the pools.'))
  } else {
    const title = `max_user_connections ${limit}${account > 0 && account !== globalLimit ? ' (this account)' : ''}, ${sizing}`
    const fix = `Raise the account's limit to at least ${need + instances}, or lower connectionLimit to ${Math.max(1, Math.floor(limit / instances) - 1)} per instance.`
    if (need > limit) {
      out.push(finding('max-user-connections', 'error', title,
        'The pools of this account open more connections than it may hold: the extra ones get 1203 ER_TOO_MANY_USER_CONNECTIONS, and requests wait out acquireTimeoutMs and fail.', fix))
    } else if (need + instances > limit) {
      out.push(finding('max-user-connections', 'warn', title,
        'No room for the short-lived connection each instance opens at a shutdown deadline to KILL its own statements: with full pools that KILL fails and the statements run on server-side after the process exits.', fix))
    } else {
      out.push(finding('max-user-connections', 'ok', title, 'Room for every pool at full size and the shutdown side connections.'))
    }
  }
  return out
}

/** `net_read_timeout` / `net_write_timeout`. */
export function checkNetTimeouts(facts: ServerFacts): Finding | undefined {
  const read = num(facts, 'net_read_timeout')
  const write = num(facts, 'net_write_timeout')
  if (read === undefined || write === undefined) return undefined
  const title = `net_read_timeout ${read} s, net_write_timeout ${write} s`
  const why = 'The server aborts a connection when it cannot send a result for net_write_timeout (the client does not read: a blocked event loop, a slow stream consumer) or waits net_read_timeout for the rest of a statement or of LOAD DATA LOCAL. The client sees a lost connection mid-statement, which is never re-run for a write.'
  if (read < 30 || write < 60) return finding('net-timeouts', 'warn', title, why, 'Keep the defaults (30 s and 60 s) or more; longer is harmless for a pool.')
  return finding('net-timeouts', 'ok', title, why)
}

/** `max_connect_errors`. */
export function checkConnectErrors(facts: ServerFacts): Finding | undefined {
  const value = num(facts, 'max_connect_errors')
  if (value === undefined) return undefined
  const title = `max_connect_errors ${value}`
  const why = 'After this many connection attempts from one host that break off before logging in (a TCP health check of a load balancer, a connect timed out on a slow path) the server blocks that host with error 1129 until FLUSH HOSTS: every pool on it stops getting connections.'
  if (value < 100) return finding('max-connect-errors', 'warn', title, why, 'Raise max_connect_errors (100 is the default; large values such as 10000 are common behind load balancers).')
  return finding('max-connect-errors', 'ok', title, why)
}
