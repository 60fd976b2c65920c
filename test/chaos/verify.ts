/**
 * @module
 * End-of-run verification, read straight from the server (root, never through the faulty path),
 * once no session of the lifespan is left, so nothing can still land.
 *
 * Why doubles stay visible: `chaos_writes` and `chaos_transfers` have a surrogate
 * AUTO_INCREMENT key and only a NON-unique index on the client's write number. A write that
 * was applied twice (re-sent after a lost reply) is stored twice, and `COUNT(*) > 1` shows it.
 * With a unique key on the client id the second copy would fail with a duplicate-key error,
 * and a silent re-send could pass unnoticed. (`chaos_idem` is keyed on purpose: it holds the
 * statements marked idempotent, which the library may re-run.)
 *
 * Transfers are checked whole: the log row is inserted in the same transaction as the two
 * balance updates, so every account's balance must equal its initial balance plus what the
 * log rows say moved in and out. A transaction applied in part, or twice, breaks that; the
 * total over all accounts is checked too.
 */
import type { Connection } from 'mysql2/promise'
import { type Ledger, Outcome, params } from './ledger.js'

/** What the verifier found; every count except the informational ones must be 0. */
export interface Verification {
  inserts: WriteCheck & { poisonPresent: number; wrongValues: number }
  transfers: WriteCheck & { wrongValues: number }
  upserts: { acked: number; ackedMissing: number; unknown: number; unknownApplied: number; phantom: number }
  balances: { accounts: number; total: number; expectedTotal: number; accountsOff: number }
}

/** The per-write checks of one ledger. */
export interface WriteCheck {
  issued: number
  acked: number
  /** Acknowledged, absent: lost. */
  lost: number
  /** Present more than once: doubled. */
  duplicated: number
  knownFailed: number
  /** Failed with a known outcome, yet present. */
  knownFailedPresent: number
  unknown: number
  /** Unknown outcome, found applied (the rest were found not applied). */
  unknownApplied: number
  /** Still pending at the end (the operation never settled). */
  pending: number
  /** On the server, never issued by this run. */
  phantom: number
}

function checkLedger(ledger: Ledger, counts: Map<number, number>): WriteCheck {
  const tally = ledger.tally()
  const check: WriteCheck = {
    issued: ledger.issued,
    acked: tally[Outcome.ACKED],
    lost: 0,
    duplicated: 0,
    knownFailed: tally[Outcome.KNOWN_FAILED],
    knownFailedPresent: 0,
    unknown: tally[Outcome.UNKNOWN],
    unknownApplied: 0,
    pending: tally[Outcome.PENDING],
    phantom: 0,
  }
  for (let n = 0; n < ledger.issued; n++) {
    const c = counts.get(n) ?? 0
    if (c > 1) check.duplicated++
    switch (ledger.get(n)) {
      case Outcome.ACKED:
        if (c === 0) check.lost++
        break
      case Outcome.KNOWN_FAILED:
        if (c > 0) check.knownFailedPresent++
        break
      case Outcome.UNKNOWN:
        if (c > 0) check.unknownApplied++
        break
    }
  }
  for (const n of counts.keys()) if (n < 0 || n >= ledger.issued) check.phantom++
  return check
}

/** Runs every check against the server through `admin` (a root connection to the server itself). */
export async function verify(
  admin: Connection,
  run: { runId: string; seed: number; accounts: number; initialBalance: number },
  ledgers: { inserts: Ledger; transfers: Ledger; upserts: Ledger },
): Promise<Verification> {
  const { runId, seed, accounts, initialBalance } = run

  const [writeRows] = await admin.query('SELECT n, amount FROM chaos_writes WHERE run_id = ?', [runId])
  const writeCounts = new Map<number, number>()
  let poisonPresent = 0
  let insertWrong = 0
  for (const row of writeRows as Array<{ n: number; amount: number }>) {
    writeCounts.set(row.n, (writeCounts.get(row.n) ?? 0) + 1)
    if (params.isPoison(seed, row.n)) poisonPresent++
    else if (row.amount !== params.insertAmount(seed, row.n)) insertWrong++
  }

  const [transferRows] = await admin.query('SELECT n, from_id, to_id, amount FROM chaos_transfers WHERE run_id = ?', [runId])
  const transferCounts = new Map<number, number>()
  const expected = new Map<number, number>()
  for (let id = 1; id <= accounts; id++) expected.set(id, initialBalance)
  let transferWrong = 0
  for (const row of transferRows as Array<{ n: number; from_id: number; to_id: number; amount: number }>) {
    transferCounts.set(row.n, (transferCounts.get(row.n) ?? 0) + 1)
    const p = params.transfer(seed, row.n, accounts)
    if (p.from !== row.from_id || p.to !== row.to_id || p.amount !== row.amount) transferWrong++
    expected.set(row.from_id, (expected.get(row.from_id) ?? 0) - row.amount)
    expected.set(row.to_id, (expected.get(row.to_id) ?? 0) + row.amount)
  }

  const [accountRows] = await admin.query('SELECT id, balance FROM chaos_accounts ORDER BY id')
  let total = 0
  let accountsOff = 0
  for (const row of accountRows as Array<{ id: number; balance: number | string }>) {
    const balance = Number(row.balance)
    total += balance
    if (balance !== expected.get(row.id)) accountsOff++
  }
  accountsOff += Math.abs(accounts - (accountRows as unknown[]).length)

  const [idemRows] = await admin.query('SELECT n FROM chaos_idem WHERE run_id = ?', [runId])
  const present = new Set((idemRows as Array<{ n: number }>).map((row) => row.n))
  const upserts = { acked: 0, ackedMissing: 0, unknown: 0, unknownApplied: 0, phantom: 0 }
  for (let n = 0; n < ledgers.upserts.issued; n++) {
    const state = ledgers.upserts.get(n)
    if (state === Outcome.ACKED) {
      upserts.acked++
      if (!present.has(n)) upserts.ackedMissing++
    } else if (state === Outcome.UNKNOWN) {
      upserts.unknown++
      if (present.has(n)) upserts.unknownApplied++
    }
  }
  for (const n of present) if (n >= ledgers.upserts.issued) upserts.phantom++

  return {
    inserts: { ...checkLedger(ledgers.inserts, writeCounts), poisonPresent, wrongValues: insertWrong },
    transfers: { ...checkLedger(ledgers.transfers, transferCounts), wrongValues: transferWrong },
    upserts,
    balances: { accounts: (accountRows as unknown[]).length, total, expectedTotal: accounts * initialBalance, accountsOff },
  }
}

/** The tables of one soak. Deliberately no unique key on the client's write number (see the module comment). */
export const SCHEMA = [
  `CREATE TABLE chaos_writes (
     seq BIGINT AUTO_INCREMENT PRIMARY KEY,
     run_id CHAR(12) NOT NULL,
     n INT NOT NULL,
     via VARCHAR(8) NOT NULL,
     amount INT NOT NULL,
     CONSTRAINT amount_not_negative CHECK (amount >= 0),
     KEY by_write (run_id, n)
   ) ENGINE=InnoDB`,
  `CREATE TABLE chaos_accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE chaos_transfers (
     seq BIGINT AUTO_INCREMENT PRIMARY KEY,
     run_id CHAR(12) NOT NULL,
     n INT NOT NULL,
     from_id INT NOT NULL,
     to_id INT NOT NULL,
     amount INT NOT NULL,
     KEY by_transfer (run_id, n)
   ) ENGINE=InnoDB`,
  `CREATE TABLE chaos_idem (run_id CHAR(12) NOT NULL, n INT NOT NULL, PRIMARY KEY (run_id, n)) ENGINE=InnoDB`,
]
