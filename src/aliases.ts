/**
 * @module
 * The configured aliases of a lifespan: each one's connection source (its pool, or its topology's
 * writer when it has hosts or replicas), its `db()` handle and the host its mysql2-compatible
 * facades use. Sources are made with the lifespan; handles and hosts on first use, once per alias.
 */
import type { ErrorClass } from './classify.js'
import type { CompatHost } from './compat/host.js'
import { Database, type DatabaseHost } from './database.js'
import { ErrorCodes, LifespanError } from './errors.js'
import type { ResolvedOptions } from './options.js'
import { AliasPool, type ConnectionSource } from './pool.js'
import { Topology } from './topology/topology.js'

/** @internal What the facades of one alias need from the lifespan besides its source (scopes, startup, `db()`). */
export type CompatLinks = Omit<CompatHost, 'alias' | 'pool' | 'classify' | 'single'>

/** @internal The aliases of one lifespan, by name. */
export class Aliases {
  readonly #classify: (error: unknown) => ErrorClass
  readonly #sources = new Map<string, ConnectionSource>()
  /** Aliases with `hosts` or `replicas`: their statements are routed per scope. */
  readonly #topologies = new Map<string, Topology>()
  readonly #handles = new Map<string, Database>()
  readonly #compatHosts = new Map<string, CompatHost>()

  constructor(options: ResolvedOptions, classify: (error: unknown) => ErrorClass) {
    this.#classify = classify
    for (const [alias, resolved] of options.aliases) {
      if (resolved.topology) {
        const topology = new Topology(resolved, resolved.topology, classify)
        this.#topologies.set(alias, topology)
        this.#sources.set(alias, topology.writerSource)
      } else {
        this.#sources.set(alias, new AliasPool(resolved, classify))
      }
    }
  }

  /** Every alias's connection source, in configuration order. */
  get sources(): ReadonlyMap<string, ConnectionSource> {
    return this.#sources
  }

  /** The connection source of `name`. @throws {LifespanError} `ERR_LIFESPAN_UNKNOWN_ALIAS`. */
  source(name: string): ConnectionSource {
    const source = this.#sources.get(name)
    if (!source) throw this.#unknown(name)
    return source
  }

  /** The `db()` handle of `name`, made on first use. @throws {LifespanError} `ERR_LIFESPAN_UNKNOWN_ALIAS`. */
  handle(name: string, host: DatabaseHost): Database {
    let handle = this.#handles.get(name)
    if (!handle) {
      handle = new Database(this.source(name), host, this.#topologies.get(name))
      this.#handles.set(name, handle)
    }
    return handle
  }

  /** What the facades of `name` run on, made on first use. @throws {LifespanError} `ERR_LIFESPAN_UNKNOWN_ALIAS`. */
  compatHost(name: string, links: (name: string) => CompatLinks): CompatHost {
    let host = this.#compatHosts.get(name)
    if (!host) {
      host = { alias: name, pool: this.source(name), classify: this.#classify, single: !this.#topologies.has(name), ...links(name) }
      this.#compatHosts.set(name, host)
    }
    return host
  }

  #unknown(name: string): LifespanError {
    return new LifespanError(`Unknown database alias "${String(name)}"; configured: ${[...this.#sources.keys()].map((a) => `"${a}"`).join(', ')}.`, {
      code: ErrorCodes.UNKNOWN_ALIAS,
    })
  }
}
