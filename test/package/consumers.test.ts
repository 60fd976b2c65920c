/**
 * The package as a user gets it: `npm pack` of a fresh copy of the sources (so `prepack` has to
 * build dist/ itself), the tarball installed with mysql2 into a throw-away project, and small
 * consumers of every module flavour that type-check with this repository's TypeScript and run
 * one query against the test server. The consumers share one install (their own package.json
 * sets each one's module type) to keep this under a minute.
 */
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mysqlUrl } from '../support/env.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const tsc = join(root, 'node_modules/.bin/tsc')
const npmFlags = ['--prefer-offline', '--no-audit', '--no-fund']

let work: string
let tarball: string
let packed: string[]

async function versionOf(name: string): Promise<string> {
  return (JSON.parse(await readFile(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
}

/** One query through the public API; every consumer runs a variant of it. */
const BODY = `
  const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL! } })
  const [rows] = await lifespan.scope(() => lifespan.db().query('SELECT 1 AS ok'))
  console.log('ok', (rows as Array<{ ok: number }>)[0]?.ok)
  await lifespan.shutdown()
`
const jsBody = BODY.replace('process.env.MYSQL_URL!', 'process.env.MYSQL_URL').replace(' as Array<{ ok: number }>', '')

interface Consumer {
  type: 'module' | 'commonjs'
  /** tsconfig compilerOptions; absent for a plain JavaScript consumer. */
  compilerOptions?: Record<string, unknown>
  file: string
  source: string
}

const CONSUMERS: Record<string, Consumer> = {
  'esm-js': { type: 'module', file: 'index.mjs', source: `import { createLifespan } from 'mysql-lifespan'\n${jsBody}` },
  'cjs-js': {
    type: 'commonjs',
    file: 'index.cjs',
    source: `const { createLifespan } = require('mysql-lifespan')\nasync function main() {${jsBody}}\nmain()`,
  },
  'ts-node16-esm': {
    type: 'module',
    compilerOptions: { module: 'node16' },
    file: 'index.ts',
    // A subpath export too, to check its types resolve.
    source: `import { createLifespan, type LifespanStats } from 'mysql-lifespan'\nimport { wrapHandler } from 'mysql-lifespan/http'\nvoid wrapHandler\nconst stats: LifespanStats | undefined = undefined\nvoid stats\n${BODY}`,
  },
  'ts-nodenext-cjs': {
    type: 'commonjs',
    compilerOptions: { module: 'nodenext' },
    file: 'index.ts',
    source: `import { createLifespan } from 'mysql-lifespan'\nasync function main(): Promise<void> {${BODY}}\nvoid main()`,
  },
  'ts-node16-cjs-import': {
    type: 'commonjs',
    compilerOptions: { module: 'node16' },
    file: 'index.ts',
    source: `async function main(): Promise<void> {\n  const { createLifespan } = await import('mysql-lifespan')\n${BODY}}\nvoid main()`,
  },
  // The ORM facades where no ORM is installed: they need mysql2 alone (the tools are optional peers).
  'esm-facades': {
    type: 'module',
    file: 'index.mjs',
    source: `import { createLifespan } from 'mysql-lifespan'
const lifespan = createLifespan({ databases: { default: process.env.MYSQL_URL } })
const pool = lifespan.pool()
const viaCallback = await new Promise((resolve, reject) =>
  pool.getConnection((err, conn) => {
    if (err) return reject(err)
    conn.query('SELECT 1 AS ok', (e, rows) => {
      conn.release()
      return e ? reject(e) : resolve(rows[0].ok)
    })
  }),
)
const [viaPromise] = await pool.promise().query('SELECT 1 AS ok')
const driverPool = lifespan.driver().createPoolPromise({ connectionLimit: 2 })
const [viaDriver] = await driverPool.query('SELECT 1 AS ok')
const conn = await lifespan.driver().createConnectionPromise({})
const [viaConnection] = await conn.query('SELECT 1 AS ok')
await conn.end()
await driverPool.end()
pool.end()
await lifespan.shutdown()
console.log('ok', viaCallback + viaPromise[0].ok + viaDriver[0].ok + viaConnection[0].ok)
`,
  },
  'ts-bundler': {
    type: 'module',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler' },
    file: 'index.ts',
    source: `import { createLifespan } from 'mysql-lifespan'\n${BODY}`,
  },
}

async function writeConsumer(name: string, c: Consumer): Promise<string> {
  const dir = join(work, 'app', name)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: c.type }))
  await writeFile(join(dir, c.file), c.source)
  if (c.compilerOptions) {
    const compilerOptions = { target: 'ES2022', strict: true, outDir: 'out', types: ['node'], skipLibCheck: false, ...c.compilerOptions }
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [c.file] }))
  }
  return dir
}

/** Type-checks (for TypeScript) and runs one consumer; returns what it printed. */
async function check(name: string): Promise<string> {
  const c = CONSUMERS[name]!
  const dir = join(work, 'app', name)
  let entry = c.file
  if (c.compilerOptions) {
    await run(tsc, ['-p', dir], { cwd: dir })
    entry = 'out/index.js'
  }
  const { stdout } = await run(process.execPath, [entry], { cwd: dir, env: { ...process.env, MYSQL_URL: mysqlUrl() }, timeout: 20_000 })
  return stdout
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mysql-lifespan-consumers-'))
  // A fresh copy of what a clone has (no dist/): npm pack must build it through prepack.
  const src = join(work, 'src-copy')
  await mkdir(src)
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'src']) {
    await cp(join(root, f), join(src, f), { recursive: true })
  }
  await symlink(join(root, 'node_modules'), join(src, 'node_modules'), 'dir')
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: src, maxBuffer: 16 * 1024 * 1024 })
  const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  tarball = join(work, info!.filename)
  packed = info!.files.map((f) => f.path)

  const app = join(work, 'app')
  await mkdir(app)
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'consumers', private: true }))
  await run('npm', ['install', tarball, `mysql2@${await versionOf('mysql2')}`, `@types/node@${await versionOf('@types/node')}`, ...npmFlags], { cwd: app })
  await Promise.all(Object.entries(CONSUMERS).map(([name, c]) => writeConsumer(name, c)))
}, 120_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

describe('npm pack', () => {
  it('builds dist/ through prepack and ships the build, the bin, README and LICENSE, not the sources', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/adapters/http.js', 'README.md', 'LICENSE', 'package.json']) {
      expect(packed).toContain(f)
    }
    expect(packed.filter((f) => !f.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(f))).toEqual([])
  })

  it('installs the mysql-lifespan bin: doctor answers against the test server', async () => {
    const { stdout } = await run(join(work, 'app/node_modules/.bin/mysql-lifespan'), ['doctor', mysqlUrl(), '--json'])
    expect((JSON.parse(stdout) as { exitCode: number }).exitCode).toBe(0)
  })
})

describe('consumers of the installed tarball', () => {
  // Sequential on purpose: each is a tsc run, and two cores are shared by everything else.
  for (const name of Object.keys(CONSUMERS).filter((n) => n !== 'esm-facades')) {
    it(`${name}: type-checks and runs one query`, async () => {
      expect(await check(name)).toBe('ok 1\n')
    })
  }

  it('esm-facades: lifespan.pool() and lifespan.driver() answer through every form where no ORM is installed (the tools are optional peers)', async () => {
    const installed = await readdir(join(work, 'app/node_modules'))
    for (const tool of ['kysely', 'knex', 'typeorm', 'sequelize', 'drizzle-orm']) expect(installed).not.toContain(tool)
    expect(await check('esm-facades')).toBe('ok 4\n')
  })

  it('ts-node16-cjs with a static import fails with TS1479: CommonJS TypeScript needs module nodenext (TS >= 5.8) or import()', async () => {
    const dir = await writeConsumer('ts-node16-cjs-static', {
      type: 'commonjs',
      compilerOptions: { module: 'node16' },
      file: 'index.ts',
      source: `import { createLifespan } from 'mysql-lifespan'\nasync function main(): Promise<void> {${BODY}}\nvoid main()`,
    })
    const failure = await run(tsc, ['-p', dir, '--noEmit'], { cwd: dir }).then(() => undefined, (err: { stdout: string }) => err.stdout)
    expect(failure).toMatch(/error TS1479/)
  })
})
