/**
 * @module
 * The doctor's verdict: every check over the gathered {@link ServerFacts}, as a pure function
 * so each rule can be tested without a server, and the exit code it implies.
 */
import { checkConnectErrors, checkConnectionCounts, checkIdleTimeouts, checkNetTimeouts, checkServer } from './checks-limits.js'
import { checkGalera, checkPrivileges, checkReadOnly, checkReplication, checkTls } from './checks-state.js'
import type { ServerFacts } from './facts.js'
import type { DoctorSettings, Finding, FindingLevel } from './finding.js'

/** Every finding for `facts` judged against `settings`, in a fixed order. */
export function diagnose(facts: ServerFacts, settings: DoctorSettings): Finding[] {
  const all: Array<Finding | undefined> = [
    checkServer(facts),
    ...checkIdleTimeouts(facts, settings),
    ...checkConnectionCounts(facts, settings),
    checkNetTimeouts(facts),
    checkConnectErrors(facts),
    checkTls(facts),
    checkReadOnly(facts),
    checkReplication(facts),
    checkGalera(facts),
    checkPrivileges(facts),
  ]
  return all.filter((f): f is Finding => f !== undefined)
}

/** How many findings of each level. */
export function countLevels(findings: readonly Finding[]): Record<FindingLevel, number> {
  const counts: Record<FindingLevel, number> = { ok: 0, warn: 0, error: 0 }
  for (const f of findings) counts[f.level]++
  return counts
}

/** Exit codes of the doctor: 1 when something will break, 2 when it could not examine the server. */
export const EXIT = Object.freeze({ ok: 0, broken: 1, unusable: 2 })

/** 1 when any finding is an error (something will break), else 0; warnings do not fail. */
export function exitCodeFor(findings: readonly Finding[]): number {
  return findings.some((f) => f.level === 'error') ? EXIT.broken : EXIT.ok
}
