import { describe, expect, it } from 'vitest'
import { makeClassifier, settleClass } from '../../src/classify.js'
import { verdictFromError, verdictFromVariables } from '../../src/refusal.js'

const prevents = (option: string, product = 'MariaDB'): object => ({
  errno: 1290,
  code: 'ER_OPTION_PREVENTS_STATEMENT',
  message: `The ${product} server is running with the ${option} option so it cannot execute this statement`,
})

describe('verdictFromError', () => {
  it.each(['--read-only', '--super-read-only', '--innodb-read-only', '--READ_ONLY'])('1290 naming %s is a failover, with no question', (option) => {
    expect(verdictFromError(prevents(option, 'MySQL'), false)).toBe('failover')
  })

  it.each(['--secure-file-priv', '--skip-grant-tables', '--event-scheduler=DISABLED', '--local-infile'])('1290 naming %s is a refusal', (option) => {
    expect(verdictFromError(prevents(option), false)).toBe('refusal')
  })

  it('1290 without an option in its message: ask the server', () => {
    expect(verdictFromError({ errno: 1290, message: 'refused' }, false)).toBeUndefined()
  })

  it('1792 in a transaction the caller declared READ ONLY is a refusal; otherwise ask', () => {
    const err = { errno: 1792, message: 'Cannot execute statement in a READ ONLY transaction' }
    expect(verdictFromError(err, true)).toBe('refusal')
    expect(verdictFromError(err, false)).toBeUndefined()
  })

  it('1836 always asks', () => {
    expect(verdictFromError({ errno: 1836, message: 'Running in read-only mode' }, false)).toBeUndefined()
  })
})

describe('verdictFromVariables', () => {
  it('any read-only variable on means failover', () => {
    expect(verdictFromVariables([{ Variable_name: 'read_only', Value: 'OFF' }, { Variable_name: 'innodb_read_only', Value: 'ON' }])).toBe('failover')
    expect(verdictFromVariables([{ Variable_name: 'read_only', Value: 'NO_LOCK' }])).toBe('failover')
    expect(verdictFromVariables([{ Variable_name: 'super_read_only', Value: '1' }])).toBe('failover')
  })

  it('all off (MariaDB lists no super_read_only) means refusal', () => {
    expect(verdictFromVariables([{ Variable_name: 'innodb_read_only', Value: 'OFF' }, { Variable_name: 'read_only', Value: 'OFF' }])).toBe('refusal')
    expect(verdictFromVariables([])).toBe('refusal')
  })
})

describe('a judged class sticks to its error', () => {
  it('the classifier returns the judged class for that error object only', () => {
    const classify = makeClassifier(undefined)
    const judged = prevents('--read-only')
    const other = prevents('--read-only')
    expect(classify(judged)).toBe('read-only')
    settleClass(judged, 'other')
    expect(classify(judged)).toBe('other')
    expect(classify(other)).toBe('read-only')
  })
})
