import { isConnectionBroken } from './classify.js';
import { ErrorCodes, LifespanError, withCode } from './errors.js';
import { canRerun, retrying } from './retry.js';
import { storage } from './scope.js';
import { runTransaction } from './transaction.js';
/**
 * Statements against one alias. Get it from `lifespan.db(alias)`; it is cheap and
 * can be kept. Result shapes are mysql2's: `[rows, fields]`.
 */
export class Database {
    /** The alias this handle talks to. */
    alias;
    #pool;
    #host;
    /** @internal */
    constructor(pool, host) {
        this.alias = pool.alias;
        this.#pool = pool;
        this.#host = host;
    }
    /**
     * Runs a statement with mysql2's `query`. Reads are re-run after a disconnect; other
     * statements only when marked `{ idempotent: true }`.
     *
     * @example
     * ```ts
     * const [rows] = await lifespan.db().query('SELECT * FROM t WHERE id = ?', [1])
     * await lifespan.db().query('UPDATE t SET n = 0 WHERE id = ?', [1], { idempotent: true })
     * ```
     */
    query(sql, values, options) {
        return this.#run('query', sql, values, options);
    }
    /** Runs a statement with mysql2's `execute` (prepared statement); same retry rules as {@link Database.query}. */
    execute(sql, values, options) {
        return this.#run('execute', sql, values, options);
    }
    /**
     * Runs `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it throws.
     * Inside `fn`, `db(alias)` of this alias also goes to the transaction.
     *
     * @throws {CommitOutcomeUnknownError} when the connection died during COMMIT.
     * @example
     * ```ts
     * await lifespan.db().transaction(async (tx) => {
     *   await tx.query('UPDATE accounts SET balance = balance - 10 WHERE id = 1')
     *   await tx.query('UPDATE accounts SET balance = balance + 10 WHERE id = 2')
     * }, { retries: 2 })
     * ```
     */
    transaction(fn, options) {
        const context = storage.getStore();
        if (!context || context.frame.closed)
            return this.#host.implicitScope(() => this.transaction(fn, options));
        if (context.txs?.has(this.alias)) {
            return Promise.reject(new LifespanError(`A transaction on "${this.alias}" is already open in this context; use its handle instead of starting another.`, {
                code: ErrorCodes.NESTED_TRANSACTION,
            }));
        }
        const lease = context.frame.lease(this.#pool);
        return runTransaction({ pool: this.#pool, lease, context, classify: this.#host.classify }, fn, options);
    }
    #run(method, sql, values, options) {
        const context = storage.getStore();
        const tx = context?.txs?.get(this.alias);
        if (tx)
            return tx.run(method, sql, values);
        // Outside any scope, or after the scope ended (a statement it did not await): one of its own.
        if (!context || context.frame.closed)
            return this.#host.implicitScope(() => this.#run(method, sql, values, options));
        return this.#once(context.frame.lease(this.#pool), method, sql, values, options, true);
    }
    /** One statement, one promise: the connection is awaited, errors classified and reads re-run inside its callbacks. */
    #once(lease, method, sql, values, options, first) {
        return new Promise((resolve, reject) => {
            const send = (conn) => {
                const done = lease.hold();
                this.#pool.send(conn, method, sql, values, (err, result) => {
                    done();
                    if (!err)
                        return resolve(result);
                    const cls = this.#host.classify(err);
                    if (isConnectionBroken(cls)) {
                        lease.discard(conn, 'broken');
                        this.#pool.suspectAll();
                    }
                    const error = withCode(err, cls);
                    const policy = this.#pool.options.retry;
                    if (!first || !policy || policy.retries === 0 || !this.#rerunnable(error, sql, options))
                        return reject(error);
                    this.#pool.countRetry();
                    retrying(() => this.#once(lease, method, sql, values, options, false), { ...policy, retries: policy.retries - 1 }, (e) => this.#rerunnable(e, sql, options), () => this.#pool.countRetry()).then(resolve, reject);
                });
            };
            lease.withConnection((err, conn) => (conn ? send(conn) : reject(err)));
        });
    }
    #rerunnable(err, sql, options) {
        // A statement that ran out of time (ours or mysql2's per-query `timeout`) would most likely do so again.
        const code = err?.code;
        if (code === ErrorCodes.QUERY_TIMEOUT || code === 'PROTOCOL_SEQUENCE_TIMEOUT')
            return false;
        const cls = this.#host.classify(err);
        // A read-only refusal means the statement was not applied: running it again cannot double it.
        if (cls === 'read-only')
            return true;
        return cls === 'disconnect' && canRerun(sql, options);
    }
}
//# sourceMappingURL=database.js.map