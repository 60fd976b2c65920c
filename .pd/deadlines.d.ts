/**
 * @module
 * Deadlines of checkouts waiting in mysql2's queue, under one timer. mysql2 serves its queue
 * in order, so waits mostly end oldest first: one timer set for the earliest deadline replaces
 * a `setTimeout` and a `clearTimeout` for every scope that had to wait for a connection.
 */
/** @internal One checkout waiting for a connection. */
export interface Wait {
    readonly deadline: number;
    ended: boolean;
    readonly expire: () => void;
}
/** @internal The waits of one pool and the timer of the earliest deadline among them. */
export declare class Deadlines {
    #private;
    /** How many waits have neither ended nor expired. */
    get pending(): number;
    /** Starts a wait; `expire` is called once, unless {@link Deadlines.end} comes first. */
    start(deadline: number, expire: () => void): Wait;
    /** Ends a wait; false when it had already expired. */
    end(wait: Wait): boolean;
}
