/**
 * @module
 * What of a statement's text the server runs as SQL: comments dropped, string literals blanked,
 * in one left-to-right pass, so a quote inside a comment (`-- customer's`) or a comment marker
 * inside a string cannot hide what follows. Executable comments (`/*! … *\/`, `/*M! … *\/`) are
 * SQL the server runs: their content is kept.
 */

// Earliest match wins at each position, as a lexer reads: a string, a backquoted identifier, a
// block comment (executable or not), a `-- ` comment (the dashes need a space or control after
// them), or a `#` comment.
const LEXEMES = /'(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"\\]|\\[\s\S]|"")*"|`(?:[^`]|``)*`|\/\*[\s\S]*?\*\/|--(?=[\x00-\x20]|$)[^\n]*|#[^\n]*/g
const EXECUTABLE = /^\/\*M?!\d*/

/** {@link sqlCode}'s answer. */
export interface SqlCode {
  /** The statement with comments replaced by a space and each string literal by `''`. */
  readonly code: string
  /**
   * A string literal holds a backslash: with `NO_BACKSLASH_ESCAPES` it would end elsewhere, so
   * where the literals end is not certain. Callers judging safety treat the text as unknown.
   */
  readonly ambiguous: boolean
}

/** @internal The statement as the server parses it, for judging what it does (see the module). */
export function sqlCode(sql: string): SqlCode {
  let ambiguous = false
  const code = sql.replace(LEXEMES, (lexeme) => {
    const first = lexeme[0]
    if (first === "'" || first === '"') {
      if (lexeme.includes('\\')) ambiguous = true
      return "''"
    }
    if (first === '`') return lexeme
    if (first === '/') {
      const executable = EXECUTABLE.exec(lexeme)
      return executable ? ` ${lexeme.slice(executable[0].length, -2)} ` : ' '
    }
    return ' '
  })
  return { code, ambiguous }
}

/** What may come before a statement's first word once comments are gone: spaces and opening parentheses. */
const LEADING = /^[\s(]+/

/** @internal {@link sqlCode}, from the statement's first word on (what decides its kind). */
export function sqlBody(sql: string): SqlCode {
  const { code, ambiguous } = sqlCode(sql)
  return { code: code.replace(LEADING, ''), ambiguous }
}
