// Regenerates the MariaDB part of src/builtin-functions.ts from a server's help tables.
//
//   node test/support/gen-builtin-functions.mjs [mysql://root@127.0.0.1:3306/test]
//
// Candidates are the names of mysql.help_topic (populated by mariadb-install-db) that are one
// identifier once "\_" is unescaped and a trailing " Function" dropped, plus MariaDB's
// information_schema.SQL_FUNCTIONS (10.6+; functions with their own grammar). Each is called as
// `SELECT name()` in a fresh schema with no stored functions: the server answers 1305/1630
// ("FUNCTION x does not exist") for a name that is not native, which drops it; anything else
// (a result, a wrong parameter count, a parse error for special syntax such as CAST) keeps it.
// Prints the names, upper case, sorted, 8 to a line, ready to paste.
import mysql from 'mysql2/promise'

const url = process.argv[2] ?? process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
const conn = await mysql.createConnection({ uri: url })
const schema = `gen_builtins_${process.pid}`
try {
  await conn.query(`CREATE DATABASE ${schema}`)
  await conn.query(`USE ${schema}`)
  const [topics] = await conn.query('SELECT name FROM mysql.help_topic')
  const candidates = new Set()
  for (const { name } of topics) {
    for (const part of String(name).split(' / ')) {
      const n = part.replaceAll('\\_', '_').replace(/ function$/i, '').trim()
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) candidates.add(n.toUpperCase())
    }
  }
  try {
    const [fns] = await conn.query('SELECT FUNCTION AS name FROM information_schema.SQL_FUNCTIONS')
    for (const { name } of fns) candidates.add(String(name).toUpperCase())
  } catch {
    // Older servers have no SQL_FUNCTIONS table; the help topics are enough.
  }
  const kept = []
  for (const name of [...candidates].sort()) {
    try {
      await conn.query(`SELECT ${name}()`)
      kept.push(name)
    } catch (err) {
      if (err.errno !== 1305 && err.errno !== 1630) kept.push(name)
    }
  }
  const lines = []
  for (let i = 0; i < kept.length; i += 8) lines.push(`  ${kept.slice(i, i + 8).map((n) => `'${n}'`).join(', ')},`)
  console.log(`// ${kept.length} names kept of ${candidates.size} candidates`)
  console.log(lines.join('\n'))
} finally {
  await conn.query(`DROP DATABASE IF EXISTS ${schema}`)
  await conn.end()
}
