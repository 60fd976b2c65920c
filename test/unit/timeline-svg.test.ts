/** The demo's recovery chart: one bar per read, coloured by its outcome, tallies beside each row. */
import { describe, expect, it } from 'vitest'
import type { ClientResult, RequestRecord } from '../../demo/fault-client.js'
import { renderTimeline } from '../../demo/timeline-svg.js'

function result(requests: RequestRecord[]): ClientResult {
  const count = (o: RequestRecord['outcome']): number => requests.filter((r) => r.outcome === o).length
  const codes: Record<string, number> = {}
  for (const r of requests) if (r.code) codes[r.code] = (codes[r.code] ?? 0) + 1
  return { ok: count('ok'), failed: count('failed'), hung: count('hung'), codes, firstSuccessMs: null, lastSettledMs: null, requests }
}

const bars = (svg: string, fill: string): number => svg.split(`height="2.4" fill="${fill}"`).length - 1

describe('renderTimeline', () => {
  it('draws one bar per read in its outcome colour, hung reads out to the deadline, and the tallies', () => {
    const plain = result([
      ...Array.from({ length: 3 }, () => ({ startMs: 0, endMs: 15, outcome: 'failed' as const, code: 'ECONNRESET' })),
      ...Array.from({ length: 2 }, () => ({ startMs: 0, endMs: null, outcome: 'hung' as const })),
      { startMs: 0, endMs: 40, outcome: 'ok' },
    ])
    const lifespan = result(Array.from({ length: 6 }, () => ({ startMs: 0, endMs: 30, outcome: 'ok' as const })))
    const svg = renderTimeline([{ title: 'KILL <every> & restart', hangMs: 8_000, clients: [{ label: 'plain mysql2', result: plain }, { label: 'mysql-lifespan', result: lifespan }] }], 'sub')
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(bars(svg, '#d73027')).toBe(3)
    expect(bars(svg, 'url(#hatch)')).toBe(2)
    expect(bars(svg, '#1a9850')).toBe(7)
    expect(svg).toContain('KILL &lt;every&gt; &amp; restart')
    expect(svg).toContain('>1 ok · 3 failed · 2 hung<')
    expect(svg).toContain('>3 × ECONNRESET<')
    expect(svg).toContain('>6 ok<')
    // A hung bar ends at the deadline, further right than any settled one.
    const widths = [...svg.matchAll(/width="([\d.]+)" height="2.4" fill="([^"]+)"/g)].map((m) => ({ w: Number(m[1]), fill: m[2] }))
    const hungWidth = Math.min(...widths.filter((b) => b.fill === 'url(#hatch)').map((b) => b.w))
    expect(hungWidth).toBeGreaterThan(Math.max(...widths.filter((b) => b.fill !== 'url(#hatch)').map((b) => b.w)))
  })
})
