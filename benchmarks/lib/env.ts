/** What the results were measured on: machine, runtime, server, package versions. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import mysql from 'mysql2/promise'
import { ROOT_DIR, versionOf } from './deps.js'

export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'

/** The URL without its password, for printing. */
export function redact(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}

export interface Environment {
  date: string
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  server: string
  url: string
  commit: string
  versions: Record<string, string>
}

export async function serverVersion(url: string): Promise<string> {
  const conn = await mysql.createConnection({ uri: url })
  try {
    const [rows] = await conn.query('SELECT VERSION() AS v')
    return String((rows as Array<{ v: string }>)[0]?.v)
  } finally {
    await conn.end()
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim()
    return dirty ? `${head} (src/ has uncommitted changes)` : head
  } catch {
    return 'unknown'
  }
}

export async function describeEnvironment(url: string): Promise<Environment> {
  const cpus = os.cpus()
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    server: await serverVersion(url),
    url: redact(url),
    commit: gitCommit(),
    versions: {
      'mysql-lifespan': (JSON.parse(readFileSync(`${ROOT_DIR}package.json`, 'utf8')) as { version: string }).version,
      'mysql2 (library and baselines)': versionOf('mysql2', 'root'),
      'mysql2 (knex, Sequelize)': versionOf('mysql2'),
      knex: versionOf('knex'),
      tarn: versionOf('tarn'),
      sequelize: versionOf('sequelize'),
      fastify: versionOf('fastify'),
      autocannon: versionOf('autocannon'),
    },
  }
}

/** 1-minute load average: other processes on a 2-core machine move every figure. */
export function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ')
}
