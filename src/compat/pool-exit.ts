/**
 * @module
 * A driver connection leaves the tool's pool while its statement waits for a connection of the alias.
 *
 * Sequelize keeps a pool of `driver().createConnection()` connections (`pool.max`, 5 by default)
 * and holds one of them from the start of a statement to its end. A scope keeps the alias's
 * connection between statements, so without this, scopes holding every connection of the alias
 * could wait for a slot of Sequelize's pool while the statements holding those slots wait for one
 * of the alias's connections: neither side moves until `acquireTimeoutMs` fails them. A statement
 * that has waited {@link LEAVE_AFTER_MS} for another scope's connection therefore gives its slot
 * back: its driver connection marks itself closed and emits mysql2's fatal `PROTOCOL_CONNECTION_LOST`,
 * the signal on which a tool drops a connection from its pool (Sequelize's connection manager does;
 * its pool then opens another driver connection, which costs nothing). The statement itself goes on
 * and settles as usual. Short waits of a busy alias leave the tool's pool alone: a new driver
 * connection per waiting statement cost Sequelize up to a third of its reads at concurrency 16 on 10
 * connections.
 */
import type { ConnectionSource } from '../pool.js'
import type { Lease } from '../scope.js'

/** How long a statement waits for another scope's connection before its driver connection leaves the tool's pool. */
export const LEAVE_AFTER_MS = 25

/**
 * What a driver connection emits (`'error'`) when it leaves the tool's pool: shaped like mysql2's
 * lost-connection error (`code`, `fatal`), which is what tools watch for. Nothing failed: the
 * statement that caused it still runs and its callback gets its result.
 */
export class DriverConnectionLeft extends Error {
  /** mysql2's code for a connection that is gone for good; tools drop such a connection from their pool. */
  readonly code = 'PROTOCOL_CONNECTION_LOST'
  /** mysql2 marks errors that end the connection `fatal`. */
  readonly fatal = true

  /** @internal */
  constructor(alias: string) {
    super(
      `mysql-lifespan: this driver connection of "${alias}" left the tool's pool because its statement waits for a connection of the alias ` +
        `(the statement goes on; a new driver connection costs nothing). Not an error of the statement.`,
    )
    this.name = 'DriverConnectionLeft'
  }
}

/**
 * Whether a statement on `lease` would wait for another scope to give a connection back: the
 * scope holds none for the alias, and every connection the alias may open is leased or being
 * acquired. Synchronous, and checked right before the acquisition starts, so nothing can take a
 * free slot in between. For an alias with hosts or replicas the counts are summed over the hosts,
 * so a full writer beside idle replicas is not seen (the acquisition then waits as before).
 */
export function wouldWait(pool: ConnectionSource, lease: Lease): boolean {
  if (lease.current) return false
  const limit = pool.limit
  if (limit === 0) return false
  const { inUse, waiting } = pool.counts()
  return inUse + waiting >= limit
}

/**
 * When a statement on `lease` is about to wait for another scope's connection ({@link wouldWait}),
 * calls `leave` once it has waited {@link LEAVE_AFTER_MS} with the scope still holding no
 * connection. Returns the timer to clear once the statement has its connection or settled.
 */
export function watchWait(pool: ConnectionSource, lease: Lease, leave: () => void): NodeJS.Timeout | undefined {
  if (!wouldWait(pool, lease)) return undefined
  const timer = setTimeout(() => {
    if (!lease.current) leave()
  }, LEAVE_AFTER_MS)
  timer.unref()
  return timer
}
