/**
 * @module
 * Whether a statement calls a function that is not built in. A stored function may write, so a
 * SELECT that calls one is not a plain read: running it again after a disconnect could double
 * its write. The check errs on the side of "calls one": a false positive only means a read is
 * not re-run.
 */
import { BUILTIN_FUNCTIONS } from './builtin-functions.js'

/**
 * Words followed by `(` that are not function calls, beyond the reserved words already in
 * {@link BUILTIN_FUNCTIONS}: subquery and row operators, joins, window and CTE syntax, index
 * hints, type names inside CAST/CONVERT, JSON_TABLE's clauses.
 */
const PAREN_KEYWORDS: ReadonlySet<string> = new Set([
  'ALL', 'AND', 'ANY', 'AS', 'ASC', 'AGAINST', 'ARRAY', 'BETWEEN', 'BY', 'CASE', 'COLLATE', 'COLUMNS',
  'CROSS', 'DESC', 'DISTINCT', 'DISTINCTROW', 'DIV', 'ELSE', 'END', 'ESCAPE', 'EXCEPT', 'EXISTS',
  'FOR', 'FORCE', 'FROM', 'GROUP', 'HAVING', 'IN', 'INDEX', 'INNER', 'INTERSECT', 'INTO', 'IS', 'JOIN',
  'KEY', 'LATERAL', 'LIKE', 'LIMIT', 'MATCH', 'MEMBER', 'MINUS', 'NATURAL', 'NESTED', 'NOT', 'OF',
  'OFFSET', 'ON', 'OR', 'ORDER', 'ORDINALITY', 'OUTER', 'OVER', 'PARTITION', 'PATH', 'PRECISION',
  'RANGE', 'RECURSIVE', 'REGEXP', 'RETURNING', 'RLIKE', 'ROW', 'ROWS', 'SELECT', 'SIGNED', 'SOME',
  'SOUNDS', 'STRAIGHT_JOIN', 'TABLE', 'THEN', 'UNION', 'UNSIGNED', 'USE', 'USING', 'VALUES', 'WHEN',
  'WHERE', 'WINDOW', 'WITH', 'XOR',
])

// String literals are blanked (they may contain anything); backquoted identifiers are kept as tokens.
const STRINGS = /'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"/g
const TOKENS = /`(?:[^`]|``)*`|[A-Za-z_$\u0080-\uffff][\w$\u0080-\uffff]*|\d[\w.]*|\S/g

/**
 * True when `sql` calls a function that is neither a MySQL/MariaDB built-in nor a keyword that
 * takes parentheses. A call is a name followed by `(`, whitespace allowed between them: a plain
 * or backquoted name not in {@link BUILTIN_FUNCTIONS}, or any schema-qualified name (`db.fn(`,
 * always a stored function). Not calls: a CTE's name and column list (`WITH c (a) AS (`), a
 * derived table's column list (`AS dt (a)`), and the keywords above.
 *
 * @example
 * ```ts
 * callsStoredFunction('SELECT COUNT(*), NOW() FROM t')   // false
 * callsStoredFunction('SELECT my_fn(1)')                 // true
 * callsStoredFunction('SELECT `app`.`next_id` ()')       // true
 * ```
 */
export function callsStoredFunction(sql: string): boolean {
  const tokens = sql.replace(STRINGS, "''").match(TOKENS) ?? []
  for (let i = 0; i < tokens.length - 1; i++) {
    if (tokens[i + 1] !== '(') continue
    const token = tokens[i] as string
    if (!/^[`A-Za-z_$\u0080-\uffff]/.test(token)) continue
    if (tokens[i - 1] === '.') return true
    const name = (token.startsWith('`') ? token.slice(1, -1).replaceAll('``', '`') : token).toUpperCase()
    if (BUILTIN_FUNCTIONS.has(name) || PAREN_KEYWORDS.has(name)) continue
    const before = tokens[i - 1]?.toUpperCase()
    if (before === 'AS' || before === 'WITH' || before === 'RECURSIVE') continue
    // `, c2 (a, b) AS (SELECT …)`: a further CTE of a WITH list, not a call.
    const close = matchingParen(tokens, i + 1)
    if (tokens[close + 1]?.toUpperCase() === 'AS' && tokens[close + 2] === '(') continue
    return true
  }
  return false
}

function matchingParen(tokens: string[], open: number): number {
  let depth = 0
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i] === '(') depth++
    else if (tokens[i] === ')' && --depth === 0) return i
  }
  return tokens.length
}
