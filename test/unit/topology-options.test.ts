import { describe, expect, it } from 'vitest'
import { createLifespan, InvalidOptionError } from '../../src/index.js'
import { resolveOptions } from '../../src/options.js'
import { covers, isGtidList, parseGtidPosition } from '../../src/topology/gtid.js'

function optionName(databases: Record<string, unknown>, top: Record<string, unknown> = {}): string {
  try {
    createLifespan({ databases: databases as never, ...top })
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError)
    expect((err as InvalidOptionError).code).toBe('ERR_LIFESPAN_INVALID_OPTION')
    expect((err as Error).message).not.toContain('s3cret')
    return (err as InvalidOptionError).option
  }
  throw new Error('expected an InvalidOptionError')
}

describe('hosts / replicas / maxReplicaLagMs options', () => {
  it('parses host lists: host, host:port, [v6]:port, { host, port }, default port from the alias', () => {
    const r = resolveOptions({
      databases: {
        default: { user: 'u', password: 's3cret', port: 3307, hosts: ['db1', 'db2:3310', { host: 'db3' }, { host: 'db4', port: 3311 }, '[::1]:3312'], replicas: ['r1'] },
      },
    })
    const t = r.aliases.get('default')?.topology
    expect(t?.writers).toEqual([
      { host: 'db1', port: 3307 },
      { host: 'db2', port: 3310 },
      { host: 'db3', port: 3307 },
      { host: 'db4', port: 3311 },
      { host: '::1', port: 3312 },
    ])
    expect(t?.replicas).toEqual([{ host: 'r1', port: 3307 }])
    expect(r.aliases.get('default')?.maxReplicaLagMs).toBe(1_000)
  })

  it('replicas alone: the alias host is the only writer; no topology without either option', () => {
    const r = resolveOptions({ databases: { a: { host: 'p', replicas: ['r1:3306', 'r2'] }, b: { host: 'p' } }, maxReplicaLagMs: 250 })
    expect(r.aliases.get('a')?.topology?.writers).toEqual([{ host: 'p', port: 3306 }])
    expect(r.aliases.get('a')?.maxReplicaLagMs).toBe(250)
    expect(r.aliases.get('b')?.topology).toBeUndefined()
  })

  it('rejects bad input naming the option', () => {
    expect(optionName({ default: { hosts: [] } })).toBe('databases.default.hosts')
    expect(optionName({ default: { host: 'h', replicas: [] } })).toBe('databases.default.replicas')
    expect(optionName({ default: { host: 'h', hosts: ['a'] } })).toBe('databases.default.hosts')
    expect(optionName({ default: { uri: 'mysql://u:s3cret@h/db', hosts: ['a'] } })).toBe('databases.default.hosts')
    expect(optionName({ default: { hosts: 'db1,db2' } })).toBe('databases.default.hosts')
    expect(optionName({ default: { hosts: ['db1', ''] } })).toBe('databases.default.hosts[1]')
    expect(optionName({ default: { hosts: ['db1:port'] } })).toBe('databases.default.hosts[0]')
    expect(optionName({ default: { hosts: ['db1:70000'] } })).toBe('databases.default.hosts[0]')
    expect(optionName({ default: { hosts: ['a:b:c'] } })).toBe('databases.default.hosts[0]')
    expect(optionName({ default: { hosts: ['db1', 'db1:3306'] } })).toBe('databases.default.hosts[1]')
    expect(optionName({ default: { hosts: [{ host: '' }] } })).toBe('databases.default.hosts[0].host')
    expect(optionName({ default: { hosts: [{ host: 'a', port: '3306' }] } })).toBe('databases.default.hosts[0].port')
    expect(optionName({ default: { hosts: [{ host: 'a', user: 'x' }] } })).toBe('databases.default.hosts[0].user')
    expect(optionName({ default: { hosts: [42] } })).toBe('databases.default.hosts[0]')
    expect(optionName({ default: { socketPath: '/tmp/s', replicas: ['r'] } })).toBe('databases.default.socketPath')
    expect(optionName({ default: { host: 'h', maxReplicaLagMs: 0 } })).toBe('databases.default.maxReplicaLagMs')
    expect(optionName({ default: { host: 'h' } }, { maxReplicaLagMs: 'fast' })).toBe('maxReplicaLagMs')
  })
})

describe('GTID positions', () => {
  it('compares per domain; a missing domain is not covered', () => {
    const p = parseGtidPosition('0-1-10,1-2-5')
    expect(covers(parseGtidPosition('0-1-10,1-2-5'), p)).toBe(true)
    expect(covers(parseGtidPosition('0-2-11,1-2-7'), p)).toBe(true)
    expect(covers(parseGtidPosition('0-1-9,1-2-7'), p)).toBe(false)
    expect(covers(parseGtidPosition('0-1-10'), p)).toBe(false)
    expect(covers(parseGtidPosition(''), parseGtidPosition(''))).toBe(true)
    expect(isGtidList('0-1-42')).toBe(true)
    expect(isGtidList('0-1-42, 1-2-3')).toBe(true)
    expect(isGtidList("0-1-42'; DROP TABLE x")).toBe(false)
  })
})

describe('Galera refusal', () => {
  it('1047 from a node outside the primary component is a refusal (re-run elsewhere); 1047 alone is not', async () => {
    const { classifyError } = await import('../../src/index.js')
    expect(classifyError({ errno: 1047, code: 'ER_UNKNOWN_COM_ERROR', sqlState: '08S01', message: 'WSREP has not yet prepared node for application use' })).toBe('read-only')
    expect(classifyError({ errno: 1047, code: 'ER_UNKNOWN_COM_ERROR', message: 'Unknown command' })).toBe('other')
  })
})
