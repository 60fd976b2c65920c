/**
 * @module
 * Per-connection setup a tool sends once on each connection it creates (Sequelize:
 * `SET time_zone = '+00:00'`). A driver connection borrows a different pooled connection per
 * scope, so the setup is not sent here: its zone is kept and becomes the zone of every statement
 * of that connection (src/session-zone.ts puts it on whichever pooled connection runs them, once,
 * and keeps it there between scopes), instead of leaking to other scopes' work.
 */

// The session variables a tool's setup may set: they change results, not the connection's identity.
const SETUP = /^\s*set\s+(?:session\s+|@@session\.|@@)?time_zone\s*=\s*('[^']*'|"[^"]*"|[\w+:/-]+)\s*;?\s*$/i

/** @internal True for a statement that is a tool's per-connection setup. */
export function isSessionSetup(sql: string | undefined): boolean {
  return sql !== undefined && SETUP.test(sql)
}

/** @internal The time zone a tool's setup statement sets. */
export function setupZone(setup: string): string | undefined {
  return SETUP.exec(setup)?.[1]?.replace(/^['"]|['"]$/g, '')
}
