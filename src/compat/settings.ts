/**
 * @module
 * What a tool passes to `createPool` / `createConnection` (TypeORM, Sequelize, Knex' cancel
 * connection), sorted into what the facades can honour per statement and what they must refuse.
 * The alias owns the connections: where to connect, who as, and the pool's size are its own.
 */
import mysql from 'mysql2'
import { ErrorCodes, LifespanError } from '../errors.js'
import type { CompatHost } from './host.js'

/** mysql2 options that shape a statement's results and that mysql2 also takes per query. */
const PER_QUERY = ['typeCast', 'supportBigNumbers', 'bigNumberStrings', 'dateStrings', 'timezone', 'rowsAsArray', 'nestTables', 'namedPlaceholders'] as const

/** Options the connection itself carries: a tool may ask only for what the alias already has. */
const PER_CONNECTION = ['charset', 'flags', 'multipleStatements', 'decimalNumbers', 'database'] as const

/** mysql2's defaults for the options above, to compare a tool's wish with what the alias has. */
const MYSQL2_CONNECTION_DEFAULTS: Record<string, unknown> = {
  charset: 'UTF8MB4_UNICODE_CI',
  multipleStatements: false,
  decimalNumbers: false,
  timezone: 'local',
  stringifyObjects: false,
}

/** @internal How a facade runs statements for one tool. */
export interface ToolSettings {
  /** Merged under every statement's own mysql2 query options. */
  readonly query: Readonly<Record<string, unknown>>
  /** Bind values formatted client-side with these, where they differ from the alias's. */
  readonly format: { readonly stringifyObjects: boolean; readonly timezone: string } | undefined
  /**
   * The tool connects with `-FOUND_ROWS` (Sequelize) where the alias keeps mysql2's default: an
   * UPDATE's `affectedRows` is then its changed rows, read from the OK packet's `Rows matched … Changed`.
   */
  readonly changedRowsAsAffected: boolean
}

/** @internal No tool options: statements run as `db()` runs them. */
export const NO_SETTINGS: ToolSettings = Object.freeze({ query: Object.freeze({}), format: undefined, changedRowsAsAffected: false })

/**
 * Sorts a tool's mysql2 options. Result options go to every statement; connection options the
 * alias does not have are refused with `ERR_LIFESPAN_UNSUPPORTED_OPTION`; where to connect and
 * pool sizes are the alias's (ignored).
 */
export function toolSettings(host: CompatHost, options: object | undefined): ToolSettings {
  if (!options || typeof options !== 'object') return NO_SETTINGS
  const wish = options as Record<string, unknown>
  const alias = host.pool.options.pool as Record<string, unknown>
  const query: Record<string, unknown> = {}
  for (const key of PER_QUERY) if (wish[key] !== undefined) query[key] = wish[key]
  // -FOUND_ROWS changes only what an UPDATE reports, which the OK packet's info carries either way.
  const wishFlags = flagList(wish.flags)
  const aliasFlags = flagList(alias.flags)
  const changedRowsAsAffected = wishFlags.includes('-FOUND_ROWS') && !aliasFlags.includes('-FOUND_ROWS')
  if (changedRowsAsAffected) wish.flags = wishFlags.filter((f) => f !== '-FOUND_ROWS')
  for (const key of PER_CONNECTION) {
    if (wish[key] === undefined || same(key, wish[key], alias[key] ?? MYSQL2_CONNECTION_DEFAULTS[key])) continue
    throw new LifespanError(
      `The tool asked for \`${key}\` = ${JSON.stringify(wish[key])} but alias "${host.alias}" has ${JSON.stringify(alias[key] ?? MYSQL2_CONNECTION_DEFAULTS[key] ?? null)}: ` +
        `a connection option cannot change per statement. Set \`${key}\` on the alias in createLifespan({ databases }) (or drop it from the tool's options).`,
      { code: ErrorCodes.UNSUPPORTED_OPTION },
    )
  }
  const stringifyObjects = Boolean(wish.stringifyObjects ?? alias.stringifyObjects ?? false)
  const timezone = String(wish.timezone ?? alias.timezone ?? 'local')
  const differs = stringifyObjects !== Boolean(alias.stringifyObjects ?? false) || timezone !== String(alias.timezone ?? 'local')
  return { query, format: differs ? { stringifyObjects, timezone } : undefined, changedRowsAsAffected }
}

function same(key: string, a: unknown, b: unknown): boolean {
  if (key === 'flags') return flagSet(a) === flagSet(b)
  if (key === 'charset') return String(a).toUpperCase() === String(b).toUpperCase()
  if (key === 'multipleStatements' || key === 'decimalNumbers') return Boolean(a) === Boolean(b)
  return a === b
}

/** mysql2 flags as a list (`'-FOUND_ROWS'`, `['-FOUND_ROWS']` and `' -found_rows'` are one). */
function flagList(flags: unknown): string[] {
  const list = Array.isArray(flags) ? flags : typeof flags === 'string' ? flags.split(',') : []
  return list.map((f) => String(f).trim().toUpperCase()).filter((f) => f !== '')
}

function flagSet(flags: unknown): string {
  return flagList(flags).sort().join(',')
}

/** @internal Applies {@link ToolSettings.changedRowsAsAffected} to a reply. */
export function adjustReply(settings: ToolSettings, rows: unknown): void {
  if (!settings.changedRowsAsAffected) return
  const header = rows as { info?: unknown; affectedRows?: number; changedRows?: number } | null
  if (typeof header?.info === 'string' && header.info.startsWith('Rows matched') && typeof header.changedRows === 'number') {
    header.affectedRows = header.changedRows
  }
}

/**
 * Whether `timezone` or `stringifyObjects` can change how `value` is written into SQL: only a Date
 * (the time zone) or another object (how it is spelled out) can, also inside an array. Numbers,
 * strings, booleans, bigints, null and Buffers are written the same whatever either says, so
 * mysql2 formats them itself with the connection's settings (TypeORM's `stringifyObjects: true`
 * would otherwise format every statement twice, once here and once in mysql2).
 */
function formatMatters(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  if (Array.isArray(value)) {
    for (const item of value) if (formatMatters(item)) return true
    return false
  }
  return !Buffer.isBuffer(value)
}

/**
 * @internal A statement's mysql2 arguments with the tool's settings applied: its own query options
 * win over the tool's; bind values are formatted client-side when the tool's `timezone` or
 * `stringifyObjects` differ from the alias's and matter for those values (mysql2 reads both from
 * the connection only).
 */
export function applySettings(settings: ToolSettings, method: 'query' | 'execute', sql: unknown, values: unknown): { sql: unknown; values: unknown } {
  if (settings === NO_SETTINGS) return { sql, values }
  // Object.assign, not a spread: on Node 20 a spread followed by more properties costs about 1 µs (src/query-command.ts).
  const options: Record<string, unknown> = Object.assign({}, settings.query)
  let bound = values
  if (typeof sql === 'object' && sql !== null) {
    Object.assign(options, sql)
    bound ??= (sql as { values?: unknown }).values
  } else {
    options.sql = sql
  }
  if (settings.format && bound !== undefined && formatMatters(bound)) {
    if (method === 'execute') {
      if (Array.isArray(bound) && bound.some((v) => v instanceof Date)) {
        throw new LifespanError(
          'execute() with Date values needs the connection\'s timezone; the tool\'s `timezone` differs from the alias\'s. Set `timezone` on the alias.',
          { code: ErrorCodes.UNSUPPORTED_OPTION },
        )
      }
    } else {
      options.sql = mysql.format(String(options.sql), bound as never, settings.format.stringifyObjects, settings.format.timezone)
      options.values = undefined
      return { sql: options, values: undefined }
    }
  }
  return { sql: options, values }
}
