/**
 * @module
 * MariaDB GTID positions (`domain-server-seq` per replication domain, comma-separated), as
 * `@@gtid_binlog_pos`, `@@gtid_slave_pos` and `@@last_gtid` report them. Comparing positions
 * says whether a replica has applied everything a primary had written at some moment, which
 * `Seconds_Behind_Master` cannot: it is NULL when the SQL thread stopped and 0 while the IO
 * thread is disconnected.
 */

/** Sequence number per replication domain. */
export type GtidPosition = ReadonlyMap<number, bigint>

/** Parses a GTID list; unparsable entries are ignored. */
export function parseGtidPosition(text: unknown): GtidPosition {
  const out = new Map<number, bigint>()
  if (typeof text !== 'string') return out
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)-(\d+)-(\d+)\s*$/.exec(part)
    if (!m) continue
    const domain = Number(m[1])
    const seq = BigInt(m[3] as string)
    const prev = out.get(domain)
    if (prev === undefined || seq > prev) out.set(domain, seq)
  }
  return out
}

/** True when `have` is at or past `want` in every domain `want` names. */
export function covers(have: GtidPosition, want: GtidPosition): boolean {
  for (const [domain, seq] of want) {
    const got = have.get(domain)
    if (got === undefined || got < seq) return false
  }
  return true
}

/** Whether `text` looks like a GTID list (validates a causal token before it reaches SQL). */
export function isGtidList(text: unknown): text is string {
  return typeof text === 'string' && /^\s*\d+-\d+-\d+\s*(?:,\s*\d+-\d+-\d+\s*)*$/.test(text)
}
