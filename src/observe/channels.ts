/**
 * @module
 * The `node:diagnostics_channel` channels the library publishes on, and their message shapes.
 * Subscribe with `diagnostics_channel.subscribe(name, fn)` (or `tracingChannel(name).subscribe`);
 * nothing here is exported for publishing. Every publisher checks `hasSubscribers` first, so a
 * process where nobody listens builds no message at all.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel'
 * diagnostics_channel.subscribe('mysql-lifespan:connection:destroy', (msg) => console.log(msg))
 * ```
 */
import diagnostics_channel from 'node:diagnostics_channel'
import type { ScopeKind } from '../scope.js'
import type { DestroyReason } from '../pool.js'
import type { ShutdownReport } from '../shutdown.js'

/** Channel names, all under `mysql-lifespan:`. */
export const ChannelNames = Object.freeze({
  scopeStart: 'mysql-lifespan:scope:start',
  scopeEnd: 'mysql-lifespan:scope:end',
  /** A TracingChannel: `tracing:mysql-lifespan:acquire:start|end|asyncStart|asyncEnd|error`. */
  acquire: 'mysql-lifespan:acquire',
  acquireAttemptFailed: 'mysql-lifespan:acquire:attempt-failed',
  validation: 'mysql-lifespan:validation',
  connectionCreate: 'mysql-lifespan:connection:create',
  connectionDestroy: 'mysql-lifespan:connection:destroy',
  connectionRelease: 'mysql-lifespan:connection:release',
  statementRetry: 'mysql-lifespan:statement:retry',
  transactionRetry: 'mysql-lifespan:transaction:retry',
  shutdownStart: 'mysql-lifespan:shutdown:start',
  shutdownEnd: 'mysql-lifespan:shutdown:end',
  /** Reserved for the multi-host topology: a primary or a replica changed. Nothing publishes on it yet. */
  hostChange: 'mysql-lifespan:host:change',
})

/** `mysql-lifespan:scope:start`: a scope opened (published inside it). */
export interface ScopeStartMessage {
  scopeId: number
  kind: ScopeKind
}

/** `mysql-lifespan:scope:end`: a scope ended and its connections went back (or were destroyed). */
export interface ScopeEndMessage {
  scopeId: number
  kind: ScopeKind
  durationMs: number
  /** `fn` resolved (`true`), or threw / was interrupted (`false`). */
  ok: boolean
  /** Set when the scope was interrupted (shutdown deadline, `destroy()`). */
  interrupted: boolean
}

/**
 * The context object of the `mysql-lifespan:acquire` TracingChannel: one per acquisition of a
 * connection for a scope. `start` and `end` see it before the wait; `asyncStart`/`asyncEnd` and
 * `error` after it, with `waitMs`, `threadId` (success) or `error` (failure) filled in.
 */
export interface AcquireContext {
  alias: string
  host: string | undefined
  port: number | undefined
  /** The scope that asked, when known. */
  scopeId: number | undefined
  /** Time from the request to the validated connection (or the failure), in milliseconds. */
  waitMs?: number
  /** Server-side id of the connection handed out. */
  threadId?: number
  /** Why there is no connection (set by `traceCallback` before `error` is published). */
  error?: unknown
}

/** `mysql-lifespan:acquire:attempt-failed`: one connect or validation attempt of an acquisition failed; it goes on until its deadline. */
export interface AcquireAttemptFailedMessage {
  alias: string
  host: string | undefined
  port: number | undefined
  error: unknown
}

/** `mysql-lifespan:validation`: a validation round trip on a connection being handed to a scope. */
export interface ValidationMessage {
  alias: string
  threadId: number | undefined
  /** `ping` for an idle or suspect connection, `connect` for a new one's first read of `@@session.wait_timeout`. */
  check: 'ping' | 'connect'
  ok: boolean
  durationMs: number
  error?: unknown
}

/** `mysql-lifespan:connection:create`: the pool opened a connection. */
export interface ConnectionCreateMessage {
  alias: string
  threadId: number | undefined
  host: string | undefined
  port: number | undefined
  /** Time from the request that made the pool open it to the completed handshake, when known. */
  createMs: number | undefined
}

/** `mysql-lifespan:connection:destroy`: the library destroyed a connection, or the server/network closed it (`broken`). */
export interface ConnectionDestroyMessage {
  alias: string
  threadId: number | undefined
  reason: DestroyReason
  /** Milliseconds since the connection was opened. */
  ageMs: number | undefined
}

/** `mysql-lifespan:connection:release`: a scope's lease ended (the connection went back to the pool, or was destroyed right after). */
export interface ConnectionReleaseMessage {
  alias: string
  threadId: number | undefined
  /** How long the scope held it, in milliseconds. */
  heldMs: number
}

/** `mysql-lifespan:statement:retry` and `mysql-lifespan:transaction:retry`: work re-run after a transient failure. */
export interface RetryMessage {
  alias: string
  /** The failure that made it run again. */
  error: unknown
}

/** `mysql-lifespan:shutdown:start`. */
export interface ShutdownStartMessage {
  timeoutMs: number
  activeScopes: number
}

/** `mysql-lifespan:shutdown:end`: the report `shutdown()` resolves with (also when a hook failed). */
export interface ShutdownEndMessage {
  report: ShutdownReport
}

/** `mysql-lifespan:host:change` (reserved; published once hosts and replicas land). */
export interface HostChangeMessage {
  alias: string
  from: string | undefined
  to: string | undefined
  reason: string
}

/** @internal */
export const scopeStart = diagnostics_channel.channel(ChannelNames.scopeStart)
/** @internal */
export const scopeEnd = diagnostics_channel.channel(ChannelNames.scopeEnd)
/** @internal */
export const acquire = diagnostics_channel.tracingChannel<string, AcquireContext & object>(ChannelNames.acquire)
/** @internal */
export const acquireAttemptFailed = diagnostics_channel.channel(ChannelNames.acquireAttemptFailed)
/** @internal */
export const validation = diagnostics_channel.channel(ChannelNames.validation)
/** @internal */
export const connectionCreate = diagnostics_channel.channel(ChannelNames.connectionCreate)
/** @internal */
export const connectionDestroy = diagnostics_channel.channel(ChannelNames.connectionDestroy)
/** @internal */
export const connectionRelease = diagnostics_channel.channel(ChannelNames.connectionRelease)
/** @internal */
export const statementRetry = diagnostics_channel.channel(ChannelNames.statementRetry)
/** @internal */
export const transactionRetry = diagnostics_channel.channel(ChannelNames.transactionRetry)
/** @internal */
export const shutdownStart = diagnostics_channel.channel(ChannelNames.shutdownStart)
/** @internal */
export const shutdownEnd = diagnostics_channel.channel(ChannelNames.shutdownEnd)
/** @internal */
export const hostChange = diagnostics_channel.channel(ChannelNames.hostChange)

/** @internal Publishes a retry; the message is only built when someone listens. */
export function publishRetry(kind: 'statement' | 'transaction', alias: string, error: unknown): void {
  const ch = kind === 'statement' ? statementRetry : transactionRetry
  if (ch.hasSubscribers) ch.publish({ alias, error } satisfies RetryMessage)
}
