/**
 * Finds the MySQL server the tests run against and hands its URL to every test file.
 *
 * `MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`) is used when a server answers there.
 * Otherwise, where a Docker engine is reachable (a contributor's laptop, GitHub CI), MySQL 8.4 is
 * started with testcontainers and stopped after the run. With neither, the run fails with a message
 * saying what to do: behaviour is never tested against a mocked database.
 */
import mysql from 'mysql2/promise'
import type {} from 'vitest'
import type { TestProject } from 'vitest/node'

const DEFAULT_URL = 'mysql://root@127.0.0.1:3306/test'

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlUrl: string
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const conn = await mysql.createConnection({ uri: url, connectTimeout: 3_000 })
    await conn.query('SELECT 1')
    await conn.end()
    return true
  } catch {
    return false
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const url = process.env.MYSQL_URL ?? DEFAULT_URL
  if (await answers(url)) {
    project.provide('mysqlUrl', url)
    return
  }
  let container: { getConnectionUri(): string; stop(): Promise<unknown> }
  try {
    const { MySqlContainer } = await import('@testcontainers/mysql')
    container = await new MySqlContainer('mysql:8.4').withDatabase('test').withRootPassword('test').start()
  } catch (err) {
    throw new Error(
      `No MySQL server answers at MYSQL_URL (${url.replace(/\/\/[^@]*@/, '//***@')}) and no Docker engine could start one ` +
        `(${(err as Error).message}). Start MariaDB/MySQL locally or set MYSQL_URL.`,
    )
  }
  // testcontainers gives the application user; the tests need root for KILL and processlist.
  const uri = new URL(container.getConnectionUri())
  uri.username = 'root'
  uri.password = 'test'
  project.provide('mysqlUrl', uri.toString())
  return async () => {
    await container.stop()
  }
}
