/**
 * The facade's quick look at a statement (isPlain) must never let through one that the KILL or
 * transaction-opening patterns match: those take the full path.
 */
import { describe, expect, it } from 'vitest'
import { isPlain, KILL, opensTransaction } from '../../src/compat/host.js'

const special = [
  'KILL QUERY 12',
  '  kill connection 7;',
  'BEGIN',
  'begin work',
  '\n\tSTART TRANSACTION READ ONLY',
  'start transaction',
  'XA START 0x01',
  'xa begin 1',
  'SET autocommit = 0',
  'set session autocommit=off',
  'SET @@autocommit = false',
  'set local autocommit = 0',
  '\u00a0BEGIN',
  '\u2003kill query 3',
]

const plain = ['select 1', 'SELECT `v` FROM `t` WHERE `id` = ?', '  Select now()', 'insert into t values (1)', 'UPDATE t SET v = 1', 'delete from t', 'with x as (select 1) select * from x', '(select 1)']

describe('isPlain', () => {
  it('never calls plain a statement that KILL or opensTransaction matches', () => {
    for (const sql of special) {
      expect(KILL.test(sql) || opensTransaction(sql), sql).toBe(true)
      expect(isPlain(sql), sql).toBe(false)
      expect(isPlain({ sql }), sql).toBe(false)
    }
  })

  it('calls plain the reads and writes tools send most', () => {
    for (const sql of plain) expect(isPlain(sql), sql).toBe(true)
  })

  it('sends SET, SHOW, other statements starting with s, and statements without text, the full way', () => {
    for (const sql of ['SET NAMES utf8mb4', 'show tables', 'savepoint a']) expect(isPlain(sql), sql).toBe(false)
    expect(isPlain(undefined)).toBe(false)
    expect(isPlain({})).toBe(false)
  })
})
