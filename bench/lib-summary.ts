// The run's one markdown table for the README: the floor beside each payment method, every gateway figure against its target.
import type { MemoryRow } from './lib-memory'
import { median, roundByRound, type ScenarioResult } from './lib-measure'
import { RELAY_LABELS, type Relay } from './lib-methods'
import type { BenchOptions, Kind } from './lib-options'
import { fixed, floorOf, KIND_LABELS, mark, TARGETS, type TtfbRow } from './lib-report'

const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-')

function cpuCell(scenarios: ScenarioResult[], kind: Kind, relay: Relay): string {
  const s = scenarios.find((x) => x.kind === kind && x.relay === relay)
  if (!s) return '—'
  const us = s.cpuUsPerRequest.relay
  if (relay === 'floor') return `${int(us)} µs`
  const floor = floorOf(scenarios, kind)
  if (!floor) return `${int(us)} µs`
  const ratio = us / floor.cpuUsPerRequest.relay
  return `${int(us)} µs · **${fixed(ratio, 2)}×** ${mark(ratio <= TARGETS.cpuRatio[kind])}`
}

function roundsCell(scenarios: ScenarioResult[], kind: Kind, relay: Relay): string {
  const s = scenarios.find((x) => x.kind === kind && x.relay === relay)
  if (!s?.roundsCpuUs) return '—'
  const retaken = (s.retakenRounds ?? []).map((r) => `${int(r.cpuUs)} (${r.stealCores.toFixed(2)} stolen)`)
  return s.roundsCpuUs.map(int).join(' / ') + (retaken.length > 0 ? ` · retaken: ${retaken.join(', ')}` : '')
}

/**
 * The relay's CPU over the floor's round by round (each round's turns are minutes apart at most): the median of those
 * ratios and their range. A slow stretch of the machine that lands on some relays' turns and not the floor's moves the
 * medians of the row above apart; it moves this one only in the rounds it spans.
 */
function pairedCell(scenarios: ScenarioResult[], kind: Kind, relay: Relay): string {
  const s = scenarios.find((x) => x.kind === kind && x.relay === relay)
  const floor = floorOf(scenarios, kind)?.roundsCpuUs
  if (relay === 'floor' || !s?.roundsCpuUs || !floor || floor.length !== s.roundsCpuUs.length) return '—'
  const ratios = roundByRound(s.roundsCpuUs, floor)
  return `${fixed(median(ratios), 2)}× (${fixed(Math.min(...ratios), 2)}–${fixed(Math.max(...ratios), 2)})`
}

function loadCell(scenarios: ScenarioResult[], kind: Kind, relay: Relay): string {
  const s = scenarios.find((x) => x.kind === kind && x.relay === relay)
  return s ? `${int(s.load.rps)} · ${fixed(s.load.p50Ms, 1)} / ${fixed(s.load.p99Ms, 1)}` : '—'
}

function redisCell(scenarios: ScenarioResult[], kind: Kind, relay: Relay): string {
  const s = scenarios.find((x) => x.kind === kind && x.relay === relay)
  return s ? `${int(s.cpuUsPerRequest.redis)} / ${int(s.cpuUsPerRequest.mock)}` : '—'
}

function ttfbCell(rows: TtfbRow[], relay: Relay): string {
  const row = rows.find((r) => r.relay === relay)
  if (!row) return '—'
  const floor = rows.find((r) => r.relay === 'floor')
  if (relay === 'floor' || !floor) return `${fixed(row.result.p50Ms, 2)} ms`
  const added = row.result.p50Ms - floor.result.p50Ms
  return `${fixed(row.result.p50Ms, 2)} ms · **${added >= 0 ? '+' : ''}${fixed(added, 2)}** ${mark(added <= TARGETS.ttfbAddedP50Ms)}`
}

function memoryCell(rows: MemoryRow[], relay: Relay): string {
  const row = rows.find((r) => r.relay === relay)
  if (!row) return '—'
  const failed = row.ran - row.complete
  const kb = row.rssPerOpenStreamKb
  const kbText = kb === null ? '-' : `**${fixed(kb, 1)} KB**`
  const kbMark = relay === 'floor' || kb === null ? '' : ` ${mark(kb <= TARGETS.rssPerStreamKb)}`
  return `${kbText}${kbMark} · ${int(failed)} failed${relay === 'floor' ? '' : ` ${mark(row.ok)}`}`
}

export function markdownTable(o: BenchOptions, scenarios: ScenarioResult[], ttfb: TtfbRow[], memory: MemoryRow[]): string {
  const relays: Relay[] = ['floor', ...o.methods]
  const rounds = o.rounds > 1 ? `, median of ${o.rounds} rounds` : ''
  const header = `| ${o.connections} connections, ${o.durationS} s a scenario${rounds} | ${relays.map((r) => RELAY_LABELS[r]).join(' | ')} |`
  const lines = [header, `|---|${relays.map(() => '---:').join('|')}|`]
  const row = (label: string, cell: (relay: Relay) => string) => lines.push(`| ${label} | ${relays.map(cell).join(' | ')} |`)
  for (const kind of o.kinds) {
    const k = KIND_LABELS[kind]
    row(`${k}: CPU per request (× floor; ≤ ${TARGETS.cpuRatio[kind].toFixed(1)}×)`, (r) => cpuCell(scenarios, kind, r))
    if (o.rounds > 1) {
      row(`${k}: CPU µs per request in each round`, (r) => roundsCell(scenarios, kind, r))
      row(`${k}: × floor round by round (median, range)`, (r) => pairedCell(scenarios, kind, r))
    }
    row(`${k}: Redis / mock CPU µs per request`, (r) => redisCell(scenarios, kind, r))
    row(`${k}: req/s · p50 / p99 ms`, (r) => loadCell(scenarios, kind, r))
  }
  if (ttfb.length > 0) row(`time to first byte, p50 at concurrency 1 (added vs floor; ≤ +${TARGETS.ttfbAddedP50Ms} ms)`, (r) => ttfbCell(ttfb, r))
  if (memory.length > 0) {
    const m = memory[0]!
    const count = m.ran < m.asked ? `${int(m.ran)} open streams (${int(m.asked)} asked; fd limit ${int(m.fileHardLimit)})` : `${int(m.ran)} open streams`
    // The memory phase drives the gateway with the static key, so its figure sits in that column.
    row(`${count}: RSS per stream above idle (≤ ${TARGETS.rssPerStreamKb} KB), failures`, (r) => memoryCell(memory, r))
    const gateway = memory.find((x) => x.relay === 'static')
    if (gateway && !o.methods.includes('static')) lines.push('', `Open streams through the gateway (static key): ${memoryCell(memory, 'static')}`)
  }
  return lines.join('\n')
}
