/**
 * The demo's picture: every read of every client across every fault on one time axis, as a
 * hand-written SVG (no charting dependency). One row per client per fault; each read is a thin
 * bar from when it was fired to when it settled, coloured by outcome (ok, failed, hung). The
 * axis is logarithmic because the interesting times run from 20 ms to 12 s.
 */
import type { ClientResult, RequestRecord } from './fault-client.js'

/** One row group of the chart: a fault and what each client saw. */
export interface TimelineFault {
  title: string
  /** When a read counted as hung in this fault, ms. */
  hangMs: number
  clients: Array<{ label: string; result: ClientResult }>
}

const COLOURS = { ok: '#1a9850', failed: '#d73027', hung: '#8c8c8c' } as const
const W = 1100
const LABEL_X = 16
const PLOT_X0 = 200
const PLOT_X1 = 800
const SUMMARY_X = 814
const BAR_H = 2.4
const BAR_STEP = 3
const ROW_GAP = 8
const GROUP_HEAD = 22
const GROUP_GAP = 16
const TOP = 78
const DOMAIN_MIN_MS = 10
const LEGEND_X = 760
const DOMAIN_MAX_MS = 15_000

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** x position of `ms` on the log axis, clamped to the plot. */
function x(ms: number): number {
  const clamped = Math.min(DOMAIN_MAX_MS, Math.max(DOMAIN_MIN_MS, ms))
  const f = Math.log10(clamped / DOMAIN_MIN_MS) / Math.log10(DOMAIN_MAX_MS / DOMAIN_MIN_MS)
  return +(PLOT_X0 + f * (PLOT_X1 - PLOT_X0)).toFixed(1)
}

/** The row's tally: counts on the first line, then one line per error code. */
function summary(r: ClientResult): string[] {
  const counts = [r.ok ? `${r.ok} ok` : '', r.failed ? `${r.failed} failed` : '', r.hung ? `${r.hung} hung` : ''].filter(Boolean)
  return [counts.join(' · '), ...Object.entries(r.codes).map(([c, n]) => `${n} × ${c}`)]
}

/** Reads sorted so the row reads as a staircase: settled ones by end time, hung ones last. */
function ordered(requests: RequestRecord[]): RequestRecord[] {
  return [...requests].sort((a, b) => (a.endMs ?? Infinity) - (b.endMs ?? Infinity))
}

function row(y: number, label: string, result: ClientResult, hangMs: number): string[] {
  const reqs = ordered(result.requests ?? [])
  const h = Math.max(1, reqs.length) * BAR_STEP
  const out = [
    `<rect x="${PLOT_X0}" y="${y - 2}" width="${PLOT_X1 - PLOT_X0}" height="${h + 3}" fill="#f6f6f6"/>`,
    `<text x="${LABEL_X + 12}" y="${y + h / 2 + 4}" class="client">${esc(label)}</text>`,
  ]
  reqs.forEach((r, i) => {
    const x0 = x(r.startMs)
    const end = r.endMs ?? hangMs
    const x1 = Math.max(x(end), x0 + 2)
    const fill = r.outcome === 'hung' ? 'url(#hatch)' : COLOURS[r.outcome]
    out.push(`<rect x="${x0}" y="${(y + i * BAR_STEP).toFixed(1)}" width="${(x1 - x0).toFixed(1)}" height="${BAR_H}" fill="${fill}"/>`)
  })
  if (result.hung > 0) {
    const xe = x(hangMs)
    out.push(`<path d="M${xe} ${y + h / 2 - 5} l6 5 l-6 5" fill="none" stroke="${COLOURS.hung}" stroke-width="1.5"/>`)
  }
  const colour = result.hung ? COLOURS.hung : result.failed ? COLOURS.failed : COLOURS.ok
  const lines = summary(result)
  const top = y + h / 2 + 4 - ((lines.length - 1) * 14) / 2
  lines.forEach((line, i) => {
    out.push(`<text x="${SUMMARY_X}" y="${top + i * 14}" class="${i === 0 ? 'summary' : 'code'}" fill="${colour}">${esc(line)}</text>`)
  })
  return out
}

function axis(y0: number, y1: number): string[] {
  const out: string[] = []
  const major: Array<[number, string]> = [[10, '≤ 10 ms'], [100, '100 ms'], [1_000, '1 s'], [10_000, '10 s']]
  for (const ms of [20, 50, 200, 500, 2_000, 5_000]) out.push(`<line x1="${x(ms)}" y1="${y0}" x2="${x(ms)}" y2="${y1}" stroke="#e4e4e4"/>`)
  for (const [ms, label] of major) {
    out.push(`<line x1="${x(ms)}" y1="${y0}" x2="${x(ms)}" y2="${y1}" stroke="#c8c8c8"/>`)
    out.push(`<text x="${x(ms)}" y="${y1 + 16}" class="tick" text-anchor="middle">${label}</text>`)
    out.push(`<text x="${x(ms)}" y="${y0 - 6}" class="tick" text-anchor="middle">${label}</text>`)
  }
  return out
}

/** The whole chart as an SVG document. */
export function renderTimeline(faults: TimelineFault[], subtitle: string): string {
  const body: string[] = []
  let y = TOP
  for (const fault of faults) {
    body.push(`<text x="${LABEL_X}" y="${y + 14}" class="fault">${esc(fault.title)}</text>`)
    y += GROUP_HEAD
    for (const c of fault.clients) {
      body.push(...row(y, c.label, c.result, fault.hangMs))
      y += Math.max(1, c.result.requests?.length ?? 0) * BAR_STEP + ROW_GAP
    }
    y += GROUP_GAP - ROW_GAP
  }
  const plotBottom = y
  const H = plotBottom + 46
  const legend = (['ok', 'failed', 'hung'] as const).map((k, i) => {
    const lx = LEGEND_X + i * 90
    const fill = k === 'hung' ? 'url(#hatch)' : COLOURS[k]
    const text = k === 'hung' ? 'hung (not settled)' : k
    return `<rect x="${lx}" y="16" width="18" height="8" fill="${fill}"/><text x="${lx + 24}" y="24" class="tick">${text}</text>`
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    '<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">',
    `<rect width="4" height="4" fill="#d9d9d9"/><rect width="2" height="4" fill="${COLOURS.hung}"/></pattern></defs>`,
    '<style>.title{font-size:16px;font-weight:600;fill:#222}.sub,.tick{font-size:11px;fill:#555}.fault{font-size:13px;font-weight:600;fill:#222}.client{font-size:12px;fill:#333}.summary{font-size:12px;font-weight:600}.code{font-size:11px}</style>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${LABEL_X}" y="24" class="title">Recovery after each fault: plain mysql2 vs mysql-lifespan</text>`,
    `<text x="${LABEL_X}" y="44" class="sub">${esc(subtitle)}</text>`,
    ...legend,
    ...axis(TOP - 2, plotBottom - GROUP_GAP + 6),
    ...body,
    `<text x="${(PLOT_X0 + PLOT_X1) / 2}" y="${H - 10}" class="tick" text-anchor="middle">time since the reads were fired, right after the fault (log scale); one bar per read, fired to settled</text>`,
    '</svg>',
    '',
  ].join('\n')
}
