import { describe, expect, it } from 'vitest'
import { canRerun, isReadStatement } from '../../src/retry.js'

describe('isReadStatement', () => {
  it.each([
    'SELECT 1',
    '  select * from t where id = ?',
    '/* trace */ SELECT * FROM t',
    '-- note\nSELECT 1',
    '(SELECT 1) UNION (SELECT 2)',
    'SHOW TABLES',
    'DESCRIBE t',
    'DESC t',
    'EXPLAIN SELECT * FROM t',
    'WITH x AS (SELECT 1) SELECT * FROM x',
    "SELECT * FROM t WHERE note = 'for update; delete'",
    'SELECT updated_at, deleted FROM t',
  ])('read: %s', (sql) => {
    expect(isReadStatement(sql)).toBe(true)
  })

  it.each([
    'INSERT INTO t VALUES (1)',
    'UPDATE t SET n = 1',
    'DELETE FROM t',
    'SELECT * FROM t FOR UPDATE',
    'SELECT * FROM t FOR SHARE',
    'SELECT * FROM t LOCK IN SHARE MODE',
    'SELECT * INTO OUTFILE "/tmp/x" FROM t',
    'SELECT 1 INTO @x',
    'SELECT @x',
    'SELECT LAST_INSERT_ID()',
    'SELECT GET_LOCK("a", 1)',
    'SELECT NEXTVAL(seq)',
    'SELECT NEXT VALUE FOR seq',
    'SELECT SLEEP(1)',
    'SELECT 1; DELETE FROM t',
    'WITH x AS (SELECT 1) DELETE FROM t',
    'CALL proc()',
    'SET @a = 1',
    '',
  ])('not a read: %s', (sql) => {
    expect(isReadStatement(sql)).toBe(false)
  })

  it('reads the sql of a mysql2 options object', () => {
    expect(isReadStatement({ sql: 'SELECT 1' })).toBe(true)
    expect(isReadStatement({ sql: 'DELETE FROM t' })).toBe(false)
    expect(isReadStatement(42)).toBe(false)
  })

  it('lets the caller decide with idempotent', () => {
    expect(canRerun('UPDATE t SET n = 0', { idempotent: true })).toBe(true)
    expect(canRerun('SELECT 1', { idempotent: false })).toBe(false)
    expect(canRerun('SELECT 1', undefined)).toBe(true)
  })
})
