/**
 * Which statements change the session without the server saying so (connection-state.ts): those
 * make the connection's release reset it. A false positive costs one reset; a miss would hand the
 * next scope a session with another scope's lock or user variables.
 */
import { describe, expect, it } from 'vitest'
import { changesSchema, touchesSessionUnseen } from '../../src/connection-state.js'

describe('touchesSessionUnseen', () => {
  it.each([
    "SELECT GET_LOCK('a', 0)",
    'select get_lock("a",0)',
    'SELECT Get_Lock ( "a", 10 ) AS got',
    'SELECT @a := 1',
    'SELECT id INTO @last FROM t LIMIT 1',
    'SELECT `v` FROM t WHERE id = (SELECT @n := @n + 1)',
  ])('sees %s', (sql) => {
    expect(touchesSessionUnseen(sql)).toBe(true)
  })

  it.each([
    'select `v` from `cpu_probe` where `id` = ?',
    'SELECT @a',
    'SELECT COUNT(*) FROM t',
    "INSERT INTO t (v) VALUES ('get_lock')",
    'SELECT release_all_locks_count FROM t',
  ])('passes %s', (sql) => {
    expect(touchesSessionUnseen(sql)).toBe(false)
  })
})

describe('changesSchema', () => {
  it('is a USE statement only', () => {
    expect(changesSchema('  USE mysql')).toBe(true)
    expect(changesSchema('use`test`') || changesSchema('\n\tuse test')).toBe(true)
    expect(changesSchema('SELECT 1 FROM users')).toBe(false)
    expect(changesSchema('UPDATE t SET v = 1')).toBe(false)
    expect(changesSchema('user')).toBe(false)
    expect(changesSchema('')).toBe(false)
  })

  it('leaves a statement after a non-ASCII space to the pattern, as before the one-character check', () => {
    expect(changesSchema('\u00a0USE mysql')).toBe(true)
    expect(changesSchema('\u00a0SELECT 1')).toBe(false)
  })
})
