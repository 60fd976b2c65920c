import { isConnectionBroken } from './classify.js';
import { CommitOutcomeUnknownError, ErrorCodes, InvalidOptionError, LifespanError, withCode } from './errors.js';
import { retrying } from './retry.js';
import { storage } from './scope.js';
/**
 * A handle on an open transaction, passed to the `transaction()` callback.
 * Using it after the transaction ended throws `ERR_LIFESPAN_TRANSACTION_CLOSED`.
 */
export class Transaction {
    #pool;
    #conn;
    #classify;
    #closed = false;
    /** @internal The connection died during the transaction. */
    broken = undefined;
    /** @internal */
    constructor(pool, conn, classify) {
        this.#pool = pool;
        this.#conn = conn;
        this.#classify = classify;
    }
    /** True once the transaction has committed or rolled back. */
    get closed() {
        return this.#closed;
    }
    query(sql, values) {
        return this.run('query', sql, values);
    }
    execute(sql, values) {
        return this.run('execute', sql, values);
    }
    /** @internal */
    async run(method, sql, values) {
        if (this.#closed) {
            throw new LifespanError('This transaction has already ended; run the statement inside the transaction() callback.', {
                code: ErrorCodes.TRANSACTION_CLOSED,
            });
        }
        if (this.broken)
            throw this.broken;
        try {
            return await this.#pool.exec(this.#conn, method, sql, values);
        }
        catch (err) {
            const cls = this.#classify(err);
            const error = withCode(err, cls);
            if (isConnectionBroken(cls))
                this.broken = error;
            throw error;
        }
    }
    /** @internal */
    close() {
        this.#closed = true;
    }
}
function isRetryable(err, classify) {
    const code = err?.code;
    if (code === ErrorCodes.COMMIT_OUTCOME_UNKNOWN || code === ErrorCodes.QUERY_TIMEOUT || code === 'PROTOCOL_SEQUENCE_TIMEOUT')
        return false;
    const cls = classify(err);
    return cls === 'transaction-retryable' || cls === 'disconnect' || cls === 'read-only';
}
/** @internal Runs `fn` in a transaction on the scope's connection, re-running it whole where that is safe. */
export function runTransaction(env, fn, options) {
    const retries = options?.retries ?? 0;
    if (!Number.isInteger(retries) || retries < 0) {
        return Promise.reject(new InvalidOptionError('retries', `expected a whole number >= 0, got ${String(retries)}`));
    }
    const once = () => attempt(env, fn, options);
    if (retries === 0)
        return once();
    const policy = env.pool.options.retry || { retries, minTimeoutMs: 25, maxTimeoutMs: 1_000 };
    return retrying(once, { ...policy, retries }, (err) => isRetryable(err, env.classify), () => env.pool.countRetry());
}
async function attempt(env, fn, options) {
    const { pool, lease, context, classify } = env;
    const conn = await lease.connection();
    const unlock = lease.lockForTransaction();
    const done = lease.hold();
    const tx = new Transaction(pool, conn, classify);
    let commitSent = false;
    try {
        if (options?.isolationLevel)
            await tx.run('query', `SET TRANSACTION ISOLATION LEVEL ${isolation(options.isolationLevel)}`, undefined);
        await tx.run('query', options?.readOnly ? 'START TRANSACTION READ ONLY' : 'START TRANSACTION', undefined);
        const txs = new Map(context.txs);
        txs.set(pool.alias, tx);
        const result = await storage.run({ frame: context.frame, txs }, () => fn(tx));
        // The callback may have swallowed a disconnect: nothing was committed, say so.
        if (tx.broken)
            throw tx.broken;
        commitSent = true;
        await tx.run('query', 'COMMIT', undefined);
        return result;
    }
    catch (err) {
        const cls = classify(err);
        if (tx.broken || isConnectionBroken(cls)) {
            lease.discard(conn, 'broken');
            pool.suspectAll();
            if (commitSent && cls === 'disconnect')
                throw new CommitOutcomeUnknownError(err);
        }
        else {
            await rollback(tx, lease, conn);
        }
        throw err;
    }
    finally {
        tx.close();
        unlock();
        done();
    }
}
async function rollback(tx, lease, conn) {
    try {
        await tx.run('query', 'ROLLBACK', undefined);
    }
    catch {
        // A connection that cannot roll back must not carry a half-open transaction to the next scope.
        lease.discard(conn, 'broken');
    }
}
const LEVELS = new Set(['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']);
function isolation(level) {
    if (!LEVELS.has(level))
        throw new InvalidOptionError('isolationLevel', `expected one of ${[...LEVELS].join(', ')}`);
    return level;
}
//# sourceMappingURL=transaction.js.map