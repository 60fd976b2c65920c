import { describe, expect, it } from 'vitest'
import { BUILTIN_FUNCTIONS } from '../../src/builtin-functions.js'
import { callsStoredFunction } from '../../src/function-calls.js'
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
    'SELECT COUNT(*), MAX(id), NOW(), CONCAT(a, b), JSON_EXTRACT(doc, "$.x") FROM t',
    'SELECT COUNT (*) FROM t',
    'SELECT `count`(*) FROM t',
    'SELECT CAST(x AS DECIMAL(10, 2)), CONVERT(y, CHAR(3)) FROM t',
    'SELECT * FROM t WHERE id IN (1, 2) AND EXISTS (SELECT 1) AND x = ANY (SELECT 1) AND y > ALL (SELECT 2) AND z = SOME (SELECT 3)',
    'SELECT * FROM t WHERE (a, b) IN ((1, 2)) AND c NOT IN (3)',
    'SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) FROM t WINDOW w AS (ORDER BY a)',
    'SELECT * FROM t1 JOIN t2 USING (id) LEFT JOIN (t3, t4) ON (t3.a = t4.a)',
    'SELECT * FROM t FORCE INDEX (idx) WHERE MATCH (body) AGAINST ("x")',
    'WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT * FROM c',
    'WITH a AS (SELECT 1), b (x) AS (SELECT 2) SELECT * FROM a, b',
    'SELECT * FROM (SELECT 1, 2) AS dt (a, b)',
    "SELECT * FROM t WHERE note = 'my_fn(1)'",
    'SELECT IF(a, 1, 2), IFNULL(b, 0), COALESCE(c, d) FROM t',
    'SELECT `id`, `name` FROM `users` AS `User` WHERE (`User`.`id` = 1 AND `User`.`deleted_at` IS NULL) LIMIT 1',
    "SELECT jt.id FROM t, JSON_TABLE(t.doc, '$[*]' COLUMNS (id INT PATH '$.id', name VARCHAR(10) PATH '$.n')) AS jt",
    'SELECT SUM(CASE WHEN a THEN 1 ELSE 0 END), TIMESTAMPDIFF(SECOND, a, b), DATE(created_at) FROM t GROUP BY DATE(created_at)',
    "SELECT 1 -- it's fine\n",
    "SELECT a /* don't */ FROM t",
    "SELECT a FROM t # the note's\n WHERE id = 1",
    "SELECT '--' AS a, '/*' AS b, '#' AS c FROM t",
    "SELECT `it's` FROM t",
    'SELECT 1--1',
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
    'SELECT my_fn()',
    'SELECT my_fn (1) FROM t',
    'SELECT app.next_id()',
    'SELECT `app`.`next_id` ()',
    'SELECT `my fn`(1)',
    'SELECT * FROM t WHERE id = audit(1)',
    'WITH x AS (SELECT touch(1)) SELECT * FROM x',
    'SELECT a, my_fn(1) AS b FROM t',
    // A quote inside a comment must not hide what follows (read as a string, it would).
    "SELECT -- customer's next number\n next_invoice_no(42) AS n -- don't cache",
    "SELECT 1 -- user's\n;UPDATE acct SET bal = bal - 10 WHERE id = 1 -- user's card",
    "SELECT /* it's */ my_fn(1) /* isn't it */",
    // Executable comments are SQL the server runs.
    '/*!INSERT INTO audit */ SELECT * FROM t WHERE id = 1',
    '/*M!100100 INSERT INTO audit */ SELECT 1',
    'SELECT a FROM t /*!50000 FOR UPDATE */',
    // With NO_BACKSLASH_ESCAPES the first literal ends at its backslash, and my_fn(1) is a call.
    "SELECT 'C:\\', my_fn(1), 'x'",
  ])('not a read: %s', (sql) => {
    expect(isReadStatement(sql)).toBe(false)
  })

  it('reads the sql of a mysql2 options object', () => {
    expect(isReadStatement({ sql: 'SELECT 1' })).toBe(true)
    expect(isReadStatement({ sql: 'DELETE FROM t' })).toBe(false)
    expect(isReadStatement(42)).toBe(false)
  })

  it('lets the caller decide with idempotent', () => {
    expect(canRerun('SELECT my_fn()', { idempotent: true })).toBe(true)
    expect(canRerun('SELECT my_fn()', undefined)).toBe(false)
    expect(canRerun('UPDATE t SET n = 0', { idempotent: true })).toBe(true)
    expect(canRerun('SELECT 1', { idempotent: false })).toBe(false)
    expect(canRerun('SELECT 1', undefined)).toBe(true)
  })
})

describe('callsStoredFunction', () => {
  it('knows the common built-ins of MySQL and MariaDB', () => {
    for (const name of ['COUNT', 'NOW', 'JSON_EXTRACT', 'ST_DISTANCE_SPHERE', 'ROW_NUMBER', 'REGEXP_LIKE', 'ANY_VALUE', 'UUID_TO_BIN', 'DATE_FORMAT', 'IF']) {
      expect(BUILTIN_FUNCTIONS.has(name), name).toBe(true)
    }
    expect(BUILTIN_FUNCTIONS.has('MY_FN')).toBe(false)
  })

  it('sees a call whatever the spacing and quoting', () => {
    expect(callsStoredFunction('SELECT f\n(1)')).toBe(true)
    expect(callsStoredFunction('SELECT db . f(1)')).toBe(true)
    expect(callsStoredFunction('SELECT 1')).toBe(false)
  })
})
