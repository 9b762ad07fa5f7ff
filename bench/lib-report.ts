// Bench output: the console tables and the shape of bench/results/latest.json.
import type { LoadResult, TtfbResult } from './lib-load'

export interface ScenarioResult {
  key: string
  name: string
  via: 'direct' | 'gateway'
  stream: boolean
  logLevel: string | null
  /** The direct scenario this one is compared with (gateway rows only). */
  baseline: string | null
  load: LoadResult
  /** CPU time (user+system) per completed request, in microseconds; null when the process was not involved. */
  cpuUsPerRequest: { gateway: number | null; redis: number; postgres: number; mock: number; loadGenerator: number }
  /** Seconds waited after the load for the gateway and Redis to go idle (inside the CPU window). */
  settleS: number
  /** Cores' worth of CPU the rest of the machine used meanwhile (steal = taken by the hypervisor). */
  otherLoad: { otherCores: number; stealCores: number }
}

export interface TtfbRow {
  logLevel: string
  direct: TtfbResult
  gateway: TtfbResult
}

export interface Report {
  startedAt: string
  machine: { cpus: number; bun: string; platform: string; clockTicksPerSecond: number }
  settings: { connections: number; durationS: number; warmupS: number; ttfbRequests: number; logLevels: string[]; role: string; pipelining: 1; databaseUrl: string; redisUrl: string }
  scenarios: ScenarioResult[]
  ttfb: TtfbRow[]
  notes: string[]
}

const fixed = (value: number | null | undefined, digits: number) =>
  value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits)

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export function formatScenarios(scenarios: ScenarioResult[]): string {
  const byKey = new Map(scenarios.map((s) => [s.key, s]))
  const rows = scenarios.map((s) => {
    const base = s.baseline ? byKey.get(s.baseline) : undefined
    return [
      `(${s.key}) ${s.name}`,
      fixed(s.load.rps, 0),
      fixed(s.load.p50Ms, 2),
      fixed(s.load.p99Ms, 2),
      base ? fixed(s.load.rps / base.load.rps, 2) : '',
      base ? fixed(s.load.p50Ms / base.load.p50Ms, 2) : '',
      fixed(s.cpuUsPerRequest.gateway, 0),
      `${fixed(s.cpuUsPerRequest.redis, 0)}/${fixed(s.cpuUsPerRequest.postgres, 0)}`,
      fixed(s.cpuUsPerRequest.mock, 0),
      fixed(s.cpuUsPerRequest.loadGenerator, 0),
      `${fixed(s.otherLoad.otherCores, 2)}/${fixed(s.otherLoad.stealCores, 2)}`,
      String(s.load.requests),
      String(s.load.non2xx),
      String(s.load.errors),
    ]
  })
  return table(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'gw/dir req/s', 'gw/dir p50', 'gw CPU µs/req', 'redis/pg µs/req', 'mock µs/req', 'loadgen µs/req', 'other/steal cores', 'requests', 'non2xx', 'errors'],
    rows,
  )
}

export function formatTtfb(rows: TtfbRow[]): string {
  return table(
    ['time to first byte (stream, concurrency 1)', 'n', 'direct p50', 'direct p99', 'gateway p50', 'gateway p99', 'added p50', 'added p99'],
    rows.map((r) => [
      `LOG_LEVEL=${r.logLevel}`,
      String(r.gateway.samples),
      fixed(r.direct.p50Ms, 3),
      fixed(r.direct.p99Ms, 3),
      fixed(r.gateway.p50Ms, 3),
      fixed(r.gateway.p99Ms, 3),
      fixed(r.gateway.p50Ms - r.direct.p50Ms, 3),
      fixed(r.gateway.p99Ms - r.direct.p99Ms, 3),
    ]),
  )
}

export async function writeReport(report: Report, path: string): Promise<void> {
  await Bun.write(path, `${JSON.stringify(report, null, 2)}\n`, { createPath: true })
}
