/**
 * @module
 * The disconnect taxonomy: one place that decides what a mysql2 error means for
 * the connection it came from and for the work that was running on it.
 * Every shape listed here was observed against MariaDB 10.11 with mysql2 3.24, or
 * is documented by MySQL/MariaDB (see the README's error table).
 */
/**
 * What an error means.
 * - `disconnect`: the connection is dead or wedged; destroy it. Work on it may be re-run only if it cannot change the outcome.
 * - `connect-refused`: a new connection could not be made (server down, too many connections); back off and retry.
 * - `read-only`: the server became read-only (failover); destroy the connection, a new one may reach the new primary.
 * - `transaction-retryable`: deadlock or lock-wait timeout; the transaction was rolled back and can be re-run whole.
 * - `fatal-config`: the server refused us for a reason a retry will not fix (credentials, unknown database).
 * - `other`: an ordinary SQL error; the connection is fine.
 */
export type ErrorClass = 'disconnect' | 'connect-refused' | 'read-only' | 'transaction-retryable' | 'fatal-config' | 'other';
/**
 * A user extension of the taxonomy: return a class to override the built-in
 * answer, or `undefined` to keep it.
 *
 * @example
 * ```ts
 * createLifespan({ databases, classify: (err) => err.errno === 3024 ? 'other' : undefined })
 * ```
 */
export type Classifier = (error: unknown) => ErrorClass | undefined;
/**
 * Classifies an error with the built-in taxonomy.
 *
 * `code` may be a string or, on mysql2's connection `'error'` event for MySQL 8's
 * idle close, the number 4031; both are understood.
 *
 * @example
 * ```ts
 * classifyError({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }) // 'disconnect'
 * classifyError({ errno: 1213, code: 'ER_LOCK_DEADLOCK' })       // 'transaction-retryable'
 * ```
 */
export declare function classifyError(error: unknown): ErrorClass;
/** True when `error` means the connection it came from must not be used again. */
export declare function isConnectionBroken(cls: ErrorClass): boolean;
/** Builds the classifier in force: the user's extension first, then the built-in taxonomy. */
export declare function makeClassifier(extension: Classifier | undefined): (error: unknown) => ErrorClass;
