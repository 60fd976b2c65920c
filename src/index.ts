/**
 * @module
 * mysql-lifespan: scoped, validated MySQL/MariaDB connections for long-lived Node.js processes.
 *
 * @example
 * ```ts
 * import { createLifespan } from 'mysql-lifespan'
 * const lifespan = createLifespan({ databases: { default: 'mysql://root@127.0.0.1:3306/test' } })
 * await lifespan.scope(() => lifespan.db().query('SELECT 1'))
 * await lifespan.shutdown()
 * ```
 */
export { createLifespan, Lifespan } from './lifespan.js'
export type { LifespanState, LifespanStats, ScopeOptions, ShutdownOptions, ShutdownReport } from './lifespan.js'
export type { RunOptions } from './run.js'
export { Database } from './database.js'
export type { Driver as DriverFacade } from './compat/driver.js'
export type { Pool as PoolFacade } from './compat/pool.js'
export { Transaction } from './transaction.js'
export type { Queryable, TransactionOptions } from './transaction.js'
export type { ScopeInfo, ScopeKind } from './scope.js'
export type { AliasStats, DestroyReason } from './pool.js'
export type { AliasHealth, AliasHealthStatus, HealthOptions, HealthReport } from './health.js'
export { ChannelNames } from './observe/channels.js'
export type {
  AcquireAttemptFailedMessage,
  AcquireContext,
  ConnectionCreateMessage,
  ConnectionDestroyMessage,
  ConnectionReleaseMessage,
  HostChangeMessage,
  RetryMessage,
  ScopeEndMessage,
  ScopeStartMessage,
  ShutdownEndMessage,
  ShutdownStartMessage,
  ValidationMessage,
} from './observe/channels.js'
export { DEFAULTS, MYSQL2_DEFAULTS } from './options.js'
export type { AliasOptions, DatabaseConfig, LifespanOptions, Logger, RetryOptions, TopologyOptions } from './options.js'
export type { HostEntry } from './topology/addresses.js'
export type { HostRole, HostState, HostStats } from './topology/host.js'
export { isReadStatement } from './retry.js'
export type { StatementOptions } from './retry.js'
export { classifyError } from './classify.js'
export type { Classifier, ErrorClass } from './classify.js'
export {
  AcquireTimeoutError,
  CommitOutcomeUnknownError,
  ErrorCodes,
  HookError,
  InvalidOptionError,
  LifespanError,
} from './errors.js'
export type { ErrorCode, PoolCounts } from './errors.js'
