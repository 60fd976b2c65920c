import { describe, expect, it } from 'vitest'
import { classifyError } from '../../src/classify.js'
import { makeClassifier } from '../../src/classify.js'

// Every shape from shared/reference/mysql2-faults.md (observed) plus the documented ones.
const cases: Array<[string, Record<string, unknown>, string]> = [
  ['read ECONNRESET on the error event', { code: 'ECONNRESET', errno: -104, fatal: true, message: 'read ECONNRESET' }, 'disconnect'],
  ['write ECONNRESET on a query', { code: 'ECONNRESET', errno: -104, fatal: true, message: 'write ECONNRESET' }, 'disconnect'],
  ['connection lost', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true, message: 'Connection lost: The server closed the connection.' }, 'disconnect'],
  ['EPIPE', { code: 'EPIPE', fatal: true, message: 'This socket has been ended by the other party' }, 'disconnect'],
  ['closed state, no code', { fatal: true, message: "Can't add new command when connection is in closed state" }, 'disconnect'],
  ['closed state, no code, no fatal', { message: "Can't add new command when connection is in closed state" }, 'disconnect'],
  ['connect ETIMEDOUT (no errno)', { code: 'ETIMEDOUT', fatal: true, message: 'connect ETIMEDOUT' }, 'disconnect'],
  ['read ETIMEDOUT (keepalive)', { code: 'ETIMEDOUT', errno: -110, fatal: true, message: 'read ETIMEDOUT' }, 'disconnect'],
  ['per-query timeout, fatal undefined', { code: 'PROTOCOL_SEQUENCE_TIMEOUT', message: 'Query inactivity timeout' }, 'disconnect'],
  ['4031 as a number on the event', { code: 4031, fatal: true, message: 'The client was disconnected by the server because of inactivity.' }, 'disconnect'],
  ['4031 as a query reply, fatal undefined', { code: 'ER_CLIENT_INTERACTION_TIMEOUT', errno: 4031, sqlState: 'HY000' }, 'disconnect'],
  ['4031 errno only', { errno: 4031 }, 'disconnect'],
  ['2006 gone away', { errno: 2006, message: 'MySQL server has gone away' }, 'disconnect'],
  ['2013 lost during query', { errno: 2013 }, 'disconnect'],
  ['2055 lost extended', { errno: 2055 }, 'disconnect'],
  ['1927 connection killed', { code: 'ER_CONNECTION_KILLED', errno: 1927 }, 'disconnect'],
  ['1053 server shutdown', { code: 'ER_SERVER_SHUTDOWN', errno: 1053 }, 'disconnect'],
  ['1158 net read error', { errno: 1158 }, 'disconnect'],
  ['ECONNREFUSED', { code: 'ECONNREFUSED', errno: -111, fatal: true }, 'connect-refused'],
  ['1040 too many connections', { code: 'ER_CON_COUNT_ERROR', errno: 1040, fatal: true }, 'connect-refused'],
  ['1290 read-only (failover)', { code: 'ER_OPTION_PREVENTS_STATEMENT', errno: 1290 }, 'read-only'],
  ['1792 read-only transaction', { errno: 1792 }, 'read-only'],
  ['1836 read-only mode', { errno: 1836 }, 'read-only'],
  ['1205 lock wait timeout', { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }, 'transaction-retryable'],
  ['1213 deadlock', { code: 'ER_LOCK_DEADLOCK', errno: 1213 }, 'transaction-retryable'],
  ['1045 access denied', { code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, fatal: true }, 'fatal-config'],
  ['1049 unknown database', { code: 'ER_BAD_DB_ERROR', errno: 1049, fatal: true }, 'fatal-config'],
  ['TLS refused by the server', { code: 'HANDSHAKE_NO_SSL_SUPPORT', fatal: true }, 'fatal-config'],
  ['self-signed certificate', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'fatal-config'],
  ['validation ping failed', { code: 'ERR_LIFESPAN_PING_FAILED' }, 'disconnect'],
  ['1317 query interrupted keeps the connection', { code: 'ER_QUERY_INTERRUPTED', errno: 1317 }, 'other'],
  ['1062 duplicate key', { code: 'ER_DUP_ENTRY', errno: 1062 }, 'other'],
  ['1064 syntax error', { code: 'ER_PARSE_ERROR', errno: 1064 }, 'other'],
]

describe('classifyError', () => {
  it.each(cases)('%s', (_name, shape, expected) => {
    expect(classifyError(Object.assign(new Error(String(shape.message ?? 'x')), shape))).toBe(expected)
  })

  it('treats non-objects as ordinary errors', () => {
    expect(classifyError(undefined)).toBe('other')
    expect(classifyError('boom')).toBe('other')
  })

  it('lets a user extension override, and falls back when it returns undefined', () => {
    const classify = makeClassifier((err) => ((err as { errno?: number }).errno === 3024 ? 'disconnect' : undefined))
    expect(classify({ errno: 3024 })).toBe('disconnect')
    expect(classify({ errno: 1213 })).toBe('transaction-retryable')
  })
})
