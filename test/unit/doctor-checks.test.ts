/**
 * The doctor's rules as pure functions over server facts: the cases a test server cannot be
 * put in here (MySQL variables, Galera, replicas, TLS off loopback, privileges by flavour).
 * The same rules run against real servers in test/cli/doctor.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { diagnose, exitCodeFor } from '../../src/cli/doctor/checks.js'
import { parseGrants, type ServerFacts } from '../../src/cli/doctor/facts.js'
import type { DoctorSettings } from '../../src/cli/doctor/finding.js'
import { renderText, useColour } from '../../src/cli/doctor/report.js'
import { parseTarget, redactUrl } from '../../src/cli/doctor/target.js'
import { DEFAULTS } from '../../src/index.js'

const settings: DoctorSettings = { poolSize: 10, instances: 1, maxAgeMs: DEFAULTS.maxAgeMs, aliveBypassMs: DEFAULTS.aliveBypassMs }

/** A healthy MariaDB as the gather step would report it, with `over` applied. */
function facts(over: Partial<ServerFacts> = {}, variables: Record<string, string> = {}): ServerFacts {
  return {
    version: '10.11.6-MariaDB',
    flavour: 'mariadb',
    host: '127.0.0.1',
    variables: {
      wait_timeout: '28800', interactive_timeout: '28800', max_connections: '151', max_user_connections: '0',
      net_read_timeout: '30', net_write_timeout: '60', max_connect_errors: '100', have_ssl: 'DISABLED',
      read_only: 'OFF', innodb_read_only: 'OFF', wsrep_on: 'OFF', ...variables,
    },
    sessionWaitTimeout: Number(variables.wait_timeout ?? 28800),
    sessionMaxUserConnections: 0,
    threadsConnected: 1,
    tls: { used: false, cipher: '', version: '' },
    wsrep: {},
    replication: { state: 'none' },
    grants: { known: true, global: ['USAGE'], roles: false },
    ...over,
  }
}

const levelOf = (f: ServerFacts, id: string, s = settings): string | undefined => diagnose(f, s).find((x) => x.id === id)?.level

describe('doctor checks', () => {
  it('a healthy server with a least-privilege account: all ok, exit 0', () => {
    const findings = diagnose(facts(), settings)
    expect(findings.filter((f) => f.level !== 'ok')).toEqual([])
    expect(exitCodeFor(findings)).toBe(0)
  })

  it('pool size × instances against max_connections: error past it, warn near it', () => {
    expect(levelOf(facts(), 'max-connections', { ...settings, instances: 16 })).toBe('error') // 160 > 151
    expect(levelOf(facts(), 'max-connections', { ...settings, instances: 13 })).toBe('warn') // 130 > 80 %
    expect(levelOf(facts({ threadsConnected: 146 }), 'max-connections')).toBe('warn') // others leave no room
    expect(exitCodeFor(diagnose(facts(), { ...settings, instances: 16 }))).toBe(1)
  })

  it('max_user_connections: the account limit wins over the global one; the shutdown side connection needs room', () => {
    expect(levelOf(facts({}, { max_user_connections: '5' }), 'max-user-connections')).toBe('error')
    expect(levelOf(facts({ sessionMaxUserConnections: 10 }, { max_user_connections: '0' }), 'max-user-connections')).toBe('warn')
    expect(levelOf(facts({ sessionMaxUserConnections: 11 }), 'max-user-connections')).toBe('ok')
  })

  it('wait_timeout: error under 10 s, warn under 60 s, ok above; maxAgeMs 0 and a long bypass window warn', () => {
    expect(levelOf(facts({}, { wait_timeout: '5' }), 'wait-timeout')).toBe('error')
    expect(levelOf(facts({}, { wait_timeout: '30' }), 'wait-timeout')).toBe('warn')
    expect(levelOf(facts({}, { wait_timeout: '600' }), 'wait-timeout')).toBe('ok')
    expect(levelOf(facts(), 'max-age', { ...settings, maxAgeMs: 0 })).toBe('warn')
    expect(levelOf(facts(), 'alive-bypass', { ...settings, aliveBypassMs: 60_000 })).toBe('warn')
  })

  it('MariaDB has no super_read_only: it is left out, not read as OFF or ON; MySQL reports it', () => {
    const maria = diagnose(facts(), settings).find((f) => f.id === 'read-only')!
    expect(maria.title).not.toContain('super_read_only')
    const mysql = diagnose(facts({ flavour: 'mysql', version: '8.4.3' }, { super_read_only: 'ON', read_only: 'ON' }), settings).find((f) => f.id === 'read-only')!
    expect(mysql.level).toBe('warn')
    expect(mysql.title).toBe('read-only: read_only ON, super_read_only ON')
  })

  it('Galera: checked only with wsrep_on ON; a node out of the primary component is an error', () => {
    expect(diagnose(facts({}, { wsrep_on: undefined as unknown as string }), settings).some((f) => f.id === 'galera')).toBe(false)
    const down = facts({ wsrep: { wsrep_ready: 'OFF', wsrep_cluster_status: 'non-Primary' } }, { wsrep_on: 'ON' })
    expect(levelOf(down, 'galera')).toBe('error')
    const joining = facts({ wsrep: { wsrep_ready: 'ON', wsrep_cluster_status: 'Primary', wsrep_local_state_comment: 'Donor/Desynced' } }, { wsrep_on: 'ON' })
    expect(levelOf(joining, 'galera')).toBe('warn')
  })

  it('replication: stopped threads, a writable replica and lag warn', () => {
    const replica = { state: 'replica' as const, ioRunning: 'Yes', sqlRunning: 'Yes', secondsBehind: 0, lastError: '' }
    expect(levelOf(facts({ replication: replica }, { read_only: 'ON' }), 'replication')).toBe('ok')
    expect(levelOf(facts({ replication: replica }), 'replication')).toBe('warn')
    expect(levelOf(facts({ replication: { ...replica, sqlRunning: 'No' } }, { read_only: 'ON' }), 'replication')).toBe('warn')
    expect(levelOf(facts({ replication: { ...replica, secondsBehind: 120 } }, { read_only: 'ON' }), 'replication')).toBe('warn')
  })

  it('TLS: fine on loopback, a warning across a network', () => {
    expect(levelOf(facts(), 'tls')).toBe('ok')
    expect(levelOf(facts({ host: 'db.internal' }, { have_ssl: 'YES' }), 'tls')).toBe('warn')
    expect(levelOf(facts({ host: 'db.internal', tls: { used: true, cipher: 'TLS_AES_256_GCM_SHA384', version: 'TLSv1.3' } }), 'tls')).toBe('ok')
  })

  it('privileges: an account that read_only does not stop warns, by flavour', () => {
    const grants = (...global: string[]): ServerFacts['grants'] => ({ known: true, global, roles: false })
    expect(levelOf(facts({ grants: grants('ALL PRIVILEGES') }), 'privileges')).toBe('warn')
    // SUPER no longer implies READ ONLY ADMIN from MariaDB 10.11.
    expect(levelOf(facts({ grants: grants('SUPER') }), 'privileges')).toBe('ok')
    expect(levelOf(facts({ grants: grants('SUPER'), version: '10.6.20-MariaDB' }), 'privileges')).toBe('warn')
    expect(levelOf(facts({ flavour: 'mysql', version: '8.0.40', grants: grants('CONNECTION ADMIN') }), 'privileges')).toBe('warn')
    expect(levelOf(facts({ flavour: 'mysql', version: '8.0.40', grants: grants('SUPER') }, { super_read_only: 'ON' }), 'privileges')).toBe('ok')
  })

  it('SHOW GRANTS lines: global privileges, dynamic ones normalised, roles noticed, password hashes dropped', () => {
    const g = parseGrants([
      "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
      'GRANT SELECT, INSERT ON `app`.* TO `app`@`%`',
      'GRANT PROCESS, REPLICATION CLIENT ON *.* TO `app`@`%`',
      'GRANT CONNECTION_ADMIN,SYSTEM_VARIABLES_ADMIN ON *.* TO `app`@`%`',
      'GRANT `reader`@`%` TO `app`@`%`',
    ])
    expect(g).toEqual({ known: true, global: ['USAGE', 'PROCESS', 'REPLICATION CLIENT', 'CONNECTION ADMIN', 'SYSTEM VARIABLES ADMIN'], roles: true })
    expect(JSON.stringify(g)).not.toContain('2470C0')
  })
})

describe('doctor target and report', () => {
  it('redacts the password, reads library settings from the URL query, passes ssl to mysql2', () => {
    expect(redactUrl('mysql://app:p%40ss@db:3306/app')).toBe('mysql://app:***@db:3306/app')
    const t = parseTarget('mysql://app:p%40ss@db:3307/app?connectionLimit=20&maxAgeMs=600000&ssl={"rejectUnauthorized":false}')
    expect(t.display).not.toContain('p%40ss')
    expect(t.connection).toMatchObject({ host: 'db', port: 3307, user: 'app', password: 'p@ss', database: 'app', ssl: { rejectUnauthorized: false } })
    expect(t.settings).toEqual({ connectionLimit: 20, maxAgeMs: 600_000 })
    expect(() => parseTarget('mysql://app:secret@db/app?connectionLimit=lots')).toThrow(/connectionLimit/)
  })

  it('colours only on a terminal without NO_COLOR', () => {
    expect(useColour({ isTTY: true }, {})).toBe(true)
    expect(useColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(useColour({ isTTY: false }, {})).toBe(false)
    expect(useColour({}, {})).toBe(false)
    const header = { target: 'mysql://db', ...settings }
    const findings = diagnose(facts(), { ...settings, instances: 16 })
    expect(renderText(header, findings, true)).toContain('\x1b[31mERROR\x1b[39m')
    expect(renderText(header, findings, false)).not.toContain('\x1b[')
  })
})
