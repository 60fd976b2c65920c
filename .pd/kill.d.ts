import type { PoolOptions } from 'mysql2';
/** Kills each thread id with `KILL CONNECTION`; failures (already gone, unreachable) are ignored. */
export declare function killConnections(poolOptions: PoolOptions, threadIds: number[]): Promise<void>;
