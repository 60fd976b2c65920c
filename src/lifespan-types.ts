/**
 * @module
 * The shapes of the {@link Lifespan}'s public methods: its state, the options of a scope, its stats.
 */
import type { Logger } from './options.js'
import type { AliasStats } from './pool.js'
import type { ScopeKind } from './scope.js'

/** Lifecycle state of a {@link Lifespan}. */
export type LifespanState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

/** Options of {@link Lifespan.scope}. */
export interface ScopeOptions {
  /**
   * What the scope stands for.
   *
   * @default 'task'
   */
  kind?: ScopeKind
  /**
   * Inside another scope: `'join'` runs `fn` in it (same connection, same transaction context);
   * `'new'` opens a scope of its own. Adapters use `'new'`, so a server started inside a scope
   * (a startup hook, a test) still gives every request its own.
   *
   * @default 'join'
   */
  nested?: 'join' | 'new'
  /**
   * Where the library logs while this scope runs, for aliases without a logger of their own
   * (adapters pass the framework's request logger, e.g. Fastify's `request.log`). Ignored when joining.
   */
  logger?: Logger
}

/** What {@link Lifespan.stats} returns. */
export interface LifespanStats {
  /** Lifecycle state. */
  state: LifespanState
  /** Scopes open right now. */
  activeScopes: number
  /** Counters per alias. */
  aliases: Record<string, AliasStats>
}

