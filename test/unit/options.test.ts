import { describe, expect, it } from 'vitest'
import { createLifespan } from '../../src/index.js'
import { DEFAULTS, parseUri, resolveOptions } from '../../src/options.js'
import { InvalidOptionError, LifespanError } from '../../src/errors.js'

function optionError(fn: () => unknown): InvalidOptionError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError)
    expect(err).toBeInstanceOf(LifespanError)
    expect((err as InvalidOptionError).code).toBe('ERR_LIFESPAN_INVALID_OPTION')
    return err as InvalidOptionError
  }
  throw new Error('expected an InvalidOptionError')
}

describe('resolveOptions', () => {
  it('applies the defaults to every alias and lets an alias override them', () => {
    const resolved = resolveOptions({
      databases: { default: 'mysql://u:p@h:3307/app', replica: { host: 'r', user: 'u', maxAgeMs: 600_000 } },
      pingTimeoutMs: 200,
    })
    const def = resolved.aliases.get('default')!
    const rep = resolved.aliases.get('replica')!
    expect(def.maxAgeMs).toBe(DEFAULTS.maxAgeMs)
    expect(rep.maxAgeMs).toBe(600_000)
    expect(def.pingTimeoutMs).toBe(200)
    expect(rep.pingTimeoutMs).toBe(200)
    expect(def.pool).toMatchObject({ host: 'h', port: 3307, user: 'u', password: 'p', database: 'app', enableKeepAlive: true, keepAliveInitialDelay: 10_000 })
    expect(resolved.defaultAlias).toBe('default')
  })

  it('never mutates the caller\'s options', () => {
    const databases = { default: { host: 'h', maxAgeMs: 5 } }
    const options = { databases, strict: true }
    const copy = structuredClone(options)
    resolveOptions(options)
    expect(options).toEqual(copy)
  })

  it.each([
    [{ databases: { default: 'mysql://h/db' }, maxAgeMs: -1 }, 'maxAgeMs'],
    [{ databases: { default: 'mysql://h/db' }, pingTimeoutMs: 0 }, 'pingTimeoutMs'],
    [{ databases: { default: 'mysql://h/db' }, acquireTimeoutMs: '5s' }, 'acquireTimeoutMs'],
    [{ databases: { default: 'mysql://h/db' }, aliveBypassMs: Number.NaN }, 'aliveBypassMs'],
    [{ databases: { default: 'mysql://h/db' }, shutdownTimeoutMs: 1.5 }, 'shutdownTimeoutMs'],
    [{ databases: { default: 'mysql://h/db' }, strict: 'yes' }, 'strict'],
    [{ databases: { default: 'mysql://h/db' }, healthCheck: 1 }, 'healthCheck'],
    [{ databases: { default: 'mysql://h/db' }, retry: { retries: -1 } }, 'retry.retries'],
    [{ databases: { default: 'mysql://h/db' }, retry: { tries: 3 } }, 'retry.tries'],
    [{ databases: { default: 'mysql://h/db' }, retry: { minTimeoutMs: 100, maxTimeoutMs: 10 } }, 'retry.maxTimeoutMs'],
    [{ databases: { default: 'mysql://h/db' }, logger: { warn: 'no' } }, 'logger.warn'],
    [{ databases: { default: 'mysql://h/db' }, maxAgeMS: 5 }, 'maxAgeMS'],
    [{ databases: { default: 'mysql://h/db' }, host: 'h' }, 'host'],
    [{ databases: { default: { host: 'h', maxAgeMs: 'x' } } }, 'databases.default.maxAgeMs'],
    [{ databases: { default: { host: 'h', conectionLimit: 5 } } }, 'databases.default.conectionLimit'],
    [{ databases: { default: { host: 'h', connectionLimit: 0 } } }, 'databases.default.connectionLimit'],
    [{ databases: { default: { host: 'h', port: 70000 } } }, 'databases.default.port'],
    [{ databases: { default: 42 } }, 'databases.default'],
    [{ databases: { default: 'not a uri' } }, 'databases.default'],
    [{ databases: { default: 'postgres://h/db' } }, 'databases.default'],
    [{ databases: {} }, 'databases'],
    [{ databases: 'mysql://h/db' }, 'databases'],
    [{}, 'databases'],
    [{ databases: { default: 'mysql://h/db' }, classify: 'x' }, 'classify'],
  ])('rejects %j naming %s', (options, name) => {
    const err = optionError(() => createLifespan(options as never))
    expect(err.option).toBe(name)
    expect(err.message).toContain(`\`${name}\``)
  })

  it('rejects a non-object', () => {
    optionError(() => createLifespan(undefined as never))
    optionError(() => createLifespan('mysql://h/db' as never))
  })

  it('never echoes a URI (it may hold a password)', () => {
    const err = optionError(() => createLifespan({ databases: { default: 'mysql://u:s3cr%ZZet@h/db' } }))
    expect(err.message).not.toContain('s3cr')
    const err2 = optionError(() => createLifespan({ databases: { default: 'ftp://u:hunter2@h/db' } }))
    expect(err2.message).not.toContain('hunter2')
    expect(JSON.stringify(err2)).not.toContain('hunter2')
  })

  it('decodes percent-encoded credentials and reads query options as JSON', () => {
    const parsed = parseUri('x', 'mysql://app%40corp:p%40ss%3Aw%2Frd@[::1]:3310/my%20db?connectionLimit=3&ssl={"rejectUnauthorized":false}&charset=utf8mb4')
    expect(parsed).toEqual({
      host: '::1',
      port: 3310,
      user: 'app@corp',
      password: 'p@ss:w/rd',
      database: 'my db',
      connectionLimit: 3,
      ssl: { rejectUnauthorized: false },
      charset: 'utf8mb4',
    })
  })

  it('lets explicit keys win over a uri option', () => {
    const resolved = resolveOptions({ databases: { default: { uri: 'mysql://u@h:3306/a', database: 'b' } } })
    expect(resolved.aliases.get('default')!.pool).toMatchObject({ host: 'h', database: 'b', user: 'u' })
  })

  it('gives each connect attempt a third of acquireTimeoutMs (1 to 10 s), never more than the whole', () => {
    const connectTimeout = (acquireTimeoutMs: number): unknown =>
      resolveOptions({ databases: { default: 'mysql://h/db' }, acquireTimeoutMs }).aliases.get('default')!.pool.connectTimeout
    expect(connectTimeout(10_000)).toBe(3_333)
    expect(connectTimeout(1_500)).toBe(1_000)
    expect(connectTimeout(600)).toBe(600)
    expect(connectTimeout(60_000)).toBe(10_000)
    expect(resolveOptions({ databases: { default: { host: 'h', connectTimeout: 777 } } }).aliases.get('default')!.pool.connectTimeout).toBe(777)
  })

  it('turns statement retries off with retry: false', () => {
    expect(resolveOptions({ databases: { default: 'mysql://h/db' }, retry: false }).aliases.get('default')!.retry).toBe(false)
  })
})

describe('db()', () => {
  it('rejects an unknown alias with a coded error', () => {
    const lifespan = createLifespan({ databases: { default: 'mysql://h/db' } })
    expect(() => lifespan.db('nope')).toThrowError(expect.objectContaining({ code: 'ERR_LIFESPAN_UNKNOWN_ALIAS' }))
  })

  it('throws in strict mode outside a scope, naming the wrapper to add', () => {
    const lifespan = createLifespan({ databases: { default: 'mysql://h/db' }, strict: true })
    expect(() => lifespan.db()).toThrowError(/lifespan\.scope/)
    expect(() => lifespan.db()).toThrowError(expect.objectContaining({ code: 'ERR_LIFESPAN_NO_SCOPE' }))
  })

  it('honours strict per alias', () => {
    const lifespan = createLifespan({ databases: { default: 'mysql://h/db', loose: { host: 'h', strict: false } }, strict: true })
    expect(() => lifespan.db('loose')).not.toThrow()
    expect(() => lifespan.db()).toThrow()
  })
})
