// Bench output: the targets, the console tables of one run, and the shape of bench/results/latest.json.
import type { TtfbResult } from './lib-load'
import type { MemoryRow } from './lib-memory'
import type { ScenarioResult } from './lib-measure'
import { RELAY_LABELS, type Relay } from './lib-methods'
import type { BenchOptions, Kind } from './lib-options'

/** The issue's budget ("The hot path at twice the floor"): each gateway figure beside the floor's of the same run. */
export const TARGETS = {
  cpuRatio: { json: 2.0, stream: 2.5, paced: 2.5 } satisfies Record<Kind, number>,
  ttfbAddedP50Ms: 0.3,
  rssPerStreamKb: 40,
} as const

export const KIND_LABELS: Record<Kind, string> = { json: 'JSON', stream: '20-chunk stream', paced: '20-chunk stream, a chunk a write 1 ms apart' }

export interface TtfbRow {
  relay: Relay
  result: TtfbResult
}

export interface Report {
  startedAt: string
  wallSeconds: number
  command: string
  machine: { cpus: number; bun: string; platform: string; clockTicksPerSecond: number }
  settings: BenchOptions & { pipelining: 1; databaseUrl: string; redisUrl: string }
  targets: typeof TARGETS
  /** Each (kind, relay)'s median round, with every round's CPU in roundsCpuUs. */
  scenarios: ScenarioResult[]
  /** Every measured round, in the order they ran. */
  rounds: ScenarioResult[]
  ttfb: TtfbRow[]
  memory: MemoryRow[]
  markdown: string
  notes: string[]
}

export const fixed = (value: number | null | undefined, digits: number) =>
  value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits)

/** The floor's figure a gateway row is compared with (same kind, same run). */
export function floorOf(scenarios: ScenarioResult[], kind: Kind): ScenarioResult | undefined {
  return scenarios.find((s) => s.kind === kind && s.relay === 'floor')
}

export const mark = (pass: boolean) => (pass ? '✓' : '✗')

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export function formatScenarios(scenarios: ScenarioResult[]): string {
  const rows = scenarios.map((s) => {
    const floor = floorOf(scenarios, s.kind)
    const ratio = s.relay !== 'floor' && floor ? s.cpuUsPerRequest.relay / floor.cpuUsPerRequest.relay : null
    const target = TARGETS.cpuRatio[s.kind]
    return [
      `${KIND_LABELS[s.kind]}: ${RELAY_LABELS[s.relay]}`,
      fixed(s.load.rps, 0),
      fixed(s.load.p50Ms, 2),
      fixed(s.load.p99Ms, 2),
      fixed(s.cpuUsPerRequest.relay, 0),
      (s.roundsCpuUs ?? []).map((us) => fixed(us, 0)).join(' ') + (s.retakenRounds?.length ? ` (+${s.retakenRounds.length} retaken)` : ''),
      ratio === null ? '' : `${fixed(ratio, 2)}× ${mark(ratio <= target)} ≤${target.toFixed(1)}`,
      `${fixed(s.cpuUsPerRequest.redis, 0)}/${fixed(s.cpuUsPerRequest.postgres, 0)}`,
      fixed(s.cpuUsPerRequest.mock, 0),
      fixed(s.cpuUsPerRequest.loadGenerator, 0),
      `${fixed(s.otherLoad.otherCores, 2)}/${fixed(s.otherLoad.stealCores, 2)}`,
      String(s.load.requests),
      `${s.load.non2xx}/${s.load.errors + s.load.timeouts}/${s.load.mismatches}`,
    ]
  })
  return table(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'each round', '× floor', 'redis/pg µs/req', 'mock µs/req', 'loadgen µs/req', 'other/steal cores', 'requests', 'non2xx/err/cut'],
    rows,
  )
}

export function formatTtfb(rows: TtfbRow[]): string {
  const floor = rows.find((r) => r.relay === 'floor')
  return table(
    ['time to first byte (stream, concurrency 1)', 'n', 'p50 ms', 'p99 ms', 'added p50 vs floor', 'added p99'],
    rows.map((r) => {
      const added = floor && r.relay !== 'floor' ? r.result.p50Ms - floor.result.p50Ms : null
      return [
        RELAY_LABELS[r.relay],
        String(r.result.samples),
        fixed(r.result.p50Ms, 3),
        fixed(r.result.p99Ms, 3),
        added === null ? '' : `${added >= 0 ? '+' : ''}${fixed(added, 3)} ${mark(added <= TARGETS.ttfbAddedP50Ms)} ≤+${TARGETS.ttfbAddedP50Ms}`,
        floor && r.relay !== 'floor' ? fixed(r.result.p99Ms - floor.result.p99Ms, 3) : '',
      ]
    }),
  )
}

export function formatMemory(rows: MemoryRow[]): string {
  return table(
    ['open streams (slow upstream)', 'asked', 'ran', 'peak open', 'idle MB', 'at peak MB', 'KB/stream above idle', 'complete', 'failed'],
    rows.map((r) => [
      RELAY_LABELS[r.relay],
      String(r.asked),
      String(r.ran),
      String(r.peakOpenUpstream),
      fixed(r.idleRssMb, 1),
      fixed(r.rssAtPeakMb, 1),
      `${fixed(r.rssPerOpenStreamKb, 1)}${r.relay === 'floor' || r.rssPerOpenStreamKb === null ? '' : ` ${mark(r.rssPerOpenStreamKb <= TARGETS.rssPerStreamKb)} ≤${TARGETS.rssPerStreamKb}`}`,
      String(r.complete),
      String(r.ran - r.complete),
    ]),
  )
}

export async function writeReport(report: Report, path: string): Promise<void> {
  await Bun.write(path, `${JSON.stringify(report, null, 2)}\n`, { createPath: true })
}
