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
export { createLifespan, Lifespan } from './lifespan.js';
export { Database } from './database.js';
export { Transaction } from './transaction.js';
export { DEFAULTS, MYSQL2_DEFAULTS } from './options.js';
export { isReadStatement } from './retry.js';
export { classifyError } from './classify.js';
export { AcquireTimeoutError, CommitOutcomeUnknownError, ErrorCodes, HookError, InvalidOptionError, LifespanError, } from './errors.js';
//# sourceMappingURL=index.js.map