/**
 * @module
 * How the doctor shows its findings: a terminal report (colours only on a TTY without
 * NO_COLOR) or one JSON document for scripts.
 */
import { countLevels } from './checks.js'
import type { Finding, FindingLevel } from './finding.js'

/** What a report is about. */
export interface ReportHeader {
  /** The redacted URL. */
  readonly target: string
  readonly poolSize: number
  readonly instances: number
  readonly maxAgeMs: number
  readonly aliveBypassMs: number
}

const ANSI: Record<FindingLevel | 'dim' | 'bold', [string, string]> = {
  ok: ['\x1b[32m', '\x1b[39m'],
  warn: ['\x1b[33m', '\x1b[39m'],
  error: ['\x1b[31m', '\x1b[39m'],
  dim: ['\x1b[2m', '\x1b[22m'],
  bold: ['\x1b[1m', '\x1b[22m'],
}
const LABEL: Record<FindingLevel, string> = { ok: 'ok   ', warn: 'warn ', error: 'ERROR' }

/** Whether to colour output on `stream`: a TTY, and NO_COLOR unset or empty (no-color.org). */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR
}

/** Wraps `text` to `width` columns, each line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines.join(`\n${indent}`)
}

/** The terminal report. */
export function renderText(header: ReportHeader, findings: readonly Finding[], colour: boolean, width = 100): string {
  const paint = (style: keyof typeof ANSI, text: string): string => (colour ? `${ANSI[style][0]}${text}${ANSI[style][1]}` : text)
  const indent = '        '
  const out = [
    paint('bold', `mysql-lifespan doctor: ${header.target}`),
    paint('dim', `judged against: pool of ${header.poolSize} × ${header.instances} instance(s), maxAgeMs ${header.maxAgeMs}, aliveBypassMs ${header.aliveBypassMs}`),
    '',
  ]
  for (const f of findings) {
    out.push(`${paint(f.level, LABEL[f.level])}  ${wrap(f.title, width - indent.length, indent)}`)
    if (f.level !== 'ok' || f.fix) out.push(`${indent}${paint('dim', wrap(f.why, width - indent.length, indent))}`)
    if (f.fix) out.push(`${indent}${wrap(`→ ${f.fix}`, width - indent.length, indent)}`)
  }
  const c = countLevels(findings)
  out.push('', `${paint(c.error ? 'error' : c.warn ? 'warn' : 'ok', `${c.error} error(s), ${c.warn} warning(s), ${c.ok} ok`)}`)
  return `${out.join('\n')}\n`
}

/** The JSON report: `{ target, settings, findings, counts, exitCode }`. */
export function renderJson(header: ReportHeader, findings: readonly Finding[], exitCode: number): string {
  const { target, ...settings } = header
  return `${JSON.stringify({ target, settings, findings, counts: countLevels(findings), exitCode }, null, 2)}\n`
}
