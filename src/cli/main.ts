#!/usr/bin/env node
/**
 * @module
 * The `mysql-lifespan` command. One subcommand today:
 * `mysql-lifespan doctor [mysql://…] [--pool N] [--instances N] [--json]`, which examines a
 * server and says what to change for a pool in a long-lived process. Exit codes: 0 fine
 * (warnings allowed), 1 something will break, 2 the server could not be examined.
 */
import { parseArgs } from 'node:util'
import { DEFAULTS } from '../index.js'
import { EXIT, diagnose, exitCodeFor } from './doctor/checks.js'
import { gatherFacts } from './doctor/facts.js'
import type { DoctorSettings } from './doctor/finding.js'
import { renderJson, renderText, useColour, type ReportHeader } from './doctor/report.js'
import { DoctorUsageError, parseTarget, redactUrl } from './doctor/target.js'

/** mysql2's `connectionLimit` when none is given. */
const MYSQL2_POOL_DEFAULT = 10
/** How long the doctor tries to connect unless told otherwise. */
const CONNECT_TIMEOUT_MS = 5_000

const USAGE = `Usage: mysql-lifespan doctor [mysql://user:password@host:port/db] [options]

Examines a MySQL or MariaDB server for a pool in a long-lived process and says what to change.
The URL defaults to $MYSQL_URL; its query may carry connectionLimit, maxAgeMs, aliveBypassMs.

Options:
  --pool N                 connections per process (default: the URL's connectionLimit, else ${MYSQL2_POOL_DEFAULT})
  --instances N            processes sharing the server (default 1)
  --max-age-ms N           the maxAgeMs to judge (default ${DEFAULTS.maxAgeMs})
  --alive-bypass-ms N      the aliveBypassMs to judge (default ${DEFAULTS.aliveBypassMs})
  --connect-timeout-ms N   how long to try to connect, and to wait for each answer (default ${CONNECT_TIMEOUT_MS})
  --json                   one JSON document on stdout, for scripts
  -h, --help               this text

Exit code: 0 nothing will break (warnings allowed), 1 something will break, 2 could not examine.
`

interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream
  env: NodeJS.ProcessEnv
}

function wholeNumber(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value < min) throw new DoctorUsageError(`--${name} must be a whole number >= ${min}, got "${raw}"`)
  return value
}

function describeConnectError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown }
  const code = typeof e.code === 'string' ? `${e.code}: ` : ''
  return `${code}${String(e.message ?? err)}`
}

/** Runs the doctor with `argv` (after the subcommand) and returns the exit code. */
export async function doctor(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      pool: { type: 'string' },
      instances: { type: 'string' },
      'max-age-ms': { type: 'string' },
      'alive-bypass-ms': { type: 'string' },
      'connect-timeout-ms': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    io.stdout.write(USAGE)
    return EXIT.ok
  }
  if (positionals.length > 1) throw new DoctorUsageError('expected at most one URL')
  const url = positionals[0] ?? io.env.MYSQL_URL
  if (!url) throw new DoctorUsageError('no server given: pass mysql://user:password@host:port/db or set MYSQL_URL')
  const target = parseTarget(url)
  const settings: DoctorSettings = {
    poolSize: wholeNumber('pool', values.pool, 1) ?? target.settings.connectionLimit ?? MYSQL2_POOL_DEFAULT,
    instances: wholeNumber('instances', values.instances, 1) ?? 1,
    maxAgeMs: wholeNumber('max-age-ms', values['max-age-ms'], 0) ?? target.settings.maxAgeMs ?? DEFAULTS.maxAgeMs,
    aliveBypassMs: wholeNumber('alive-bypass-ms', values['alive-bypass-ms'], 0) ?? target.settings.aliveBypassMs ?? DEFAULTS.aliveBypassMs,
  }
  const connectTimeoutMs = wholeNumber('connect-timeout-ms', values['connect-timeout-ms'], 1) ?? CONNECT_TIMEOUT_MS
  const header: ReportHeader = { target: target.display, ...settings }

  let facts
  try {
    facts = await gatherFacts(target, connectTimeoutMs)
  } catch (err) {
    const message = `cannot examine ${target.display}: ${describeConnectError(err)}`
    if (values.json) io.stdout.write(`${JSON.stringify({ target: target.display, error: message, exitCode: EXIT.unusable }, null, 2)}\n`)
    io.stderr.write(`mysql-lifespan doctor: ${message}\n`)
    return EXIT.unusable
  }
  const findings = diagnose(facts, settings)
  const code = exitCodeFor(findings)
  io.stdout.write(values.json ? renderJson(header, findings, code) : renderText(header, findings, useColour(io.stdout, io.env)))
  return code
}

/** Entry point: dispatches the subcommand; usage errors exit 2 with a message, never a stack. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv
  if (command === '-h' || command === '--help' || command === 'help') {
    io.stdout.write(USAGE)
    return EXIT.ok
  }
  if (command !== 'doctor') {
    io.stderr.write(`${command === undefined ? 'no command given' : `unknown command "${redactUrl(command)}"`}\n\n${USAGE}`)
    return EXIT.unusable
  }
  try {
    return await doctor(rest, io)
  } catch (err) {
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed flags.
    const code = (err as { code?: unknown }).code
    if (err instanceof DoctorUsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`mysql-lifespan doctor: ${(err as Error).message}\n(see mysql-lifespan doctor --help)\n`)
      return EXIT.unusable
    }
    throw err
  }
}

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`mysql-lifespan: unexpected failure: ${String((err as Error)?.message ?? err)}\n`)
    process.exitCode = EXIT.unusable
  },
)
