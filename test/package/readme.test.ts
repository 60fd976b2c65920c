/**
 * The README's Quick start, as pasted: its code block is taken from README.md, compiled with
 * this repository's TypeScript and run against a database of its own on the test server, so the
 * README cannot drift from the API. The package resolves to dist/ through its own name.
 */
import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { admin, mysqlUrl, tableName } from '../support/env.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))

/** The first ```ts block after the `## Quick start` heading. */
function quickStartCode(readme: string): string {
  const section = readme.slice(readme.indexOf('\n## Quick start\n'))
  const match = /```ts\n([\s\S]*?)```/.exec(section)
  if (!match) throw new Error('README.md has no ```ts block under "## Quick start"')
  return match[1]!
}

const database = tableName('quick_start')
const dir = join(root, '.build', database)

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${database}`)
  await rm(dir, { recursive: true, force: true })
})

describe('README Quick start', () => {
  it('compiles and runs as pasted, with the tables it names', async () => {
    await admin(`CREATE DATABASE ${database}`)
    await admin(`CREATE TABLE ${database}.t (id INT PRIMARY KEY, n INT)`)
    await admin(`CREATE TABLE ${database}.accounts (id INT PRIMARY KEY, balance INT)`)
    await admin(`INSERT INTO ${database}.t VALUES (1, 0)`)
    await admin(`INSERT INTO ${database}.accounts VALUES (1, 100), (2, 100)`)

    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'quick-start.mts'), quickStartCode(await readFile(join(root, 'README.md'), 'utf8')))
    const compilerOptions = { module: 'nodenext', target: 'ES2022', strict: true, types: ['node'], skipLibCheck: true }
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['quick-start.mts'] }))
    await run(join(root, 'node_modules/.bin/tsc'), ['-p', dir], { cwd: dir })

    const url = new URL(mysqlUrl())
    url.pathname = `/${database}`
    const { stdout, stderr } = await run(process.execPath, ['quick-start.mjs'], { cwd: dir, env: { ...process.env, MYSQL_URL: url.toString() }, timeout: 20_000 })
    expect(stderr).toBe('')
    expect(stdout).toContain(' 200\n') // the replica alias read the total after the transfer
    expect(await admin(`SELECT n FROM ${database}.t`)).toEqual([{ n: 1 }])
    expect(await admin(`SELECT id, balance FROM ${database}.accounts ORDER BY id`)).toEqual([{ id: 1, balance: 90 }, { id: 2, balance: 110 }])
  })
})
