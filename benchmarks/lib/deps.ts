/**
 * Benchmark-only dependencies (knex, Sequelize, Fastify, autocannon) live in
 * benchmarks/node_modules, which the compiled files under .build/bench cannot see by
 * walking up: they are required from there explicitly. mysql2 and mysql-lifespan are
 * not: they resolve from the repository root, so the baselines run the same mysql2 copy
 * as the library.
 */
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** benchmarks/ in the source tree (this file runs from .build/bench/benchmarks/lib/). */
export const BENCH_DIR = fileURLToPath(new URL('../../../../benchmarks/', import.meta.url))
/** The repository root. */
export const ROOT_DIR = fileURLToPath(new URL('../../../../', import.meta.url))

const benchRequire = createRequire(`${BENCH_DIR}package.json`)
const rootRequire = createRequire(`${ROOT_DIR}package.json`)

export function loadKnex(): typeof import('knex').knex {
  return (benchRequire('knex') as typeof import('knex')).knex
}

export function loadSequelize(): typeof import('sequelize') {
  return benchRequire('sequelize') as typeof import('sequelize')
}

export function loadFastify(): typeof import('fastify').fastify {
  return (benchRequire('fastify') as typeof import('fastify')).fastify
}

/** Path of autocannon's command-line entry point (run as a separate process). */
export function autocannonBin(): string {
  return benchRequire.resolve('autocannon/autocannon.js')
}

/** Version of a package as installed for the benchmarks (`root` = the library's own dependencies). */
export function versionOf(name: string, from: 'bench' | 'root' = 'bench'): string {
  const req = from === 'bench' ? benchRequire : rootRequire
  try {
    return (req(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'not installed'
  }
}
