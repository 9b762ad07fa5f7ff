// One measured load scenario: CPU of the relay, the mock, Redis, Postgres and this process from /proc around an autocannon run.
import { runLoad, type LoadResult, type Target } from './lib-load'
import type { Relay } from './lib-methods'
import type { Kind } from './lib-options'
import { cpuSeconds, machineBusySeconds } from './lib-proc'
import { cpuSecondsByName, POSTGRES_PROCESSES, REDIS_PROCESSES } from './lib-stores'

export interface ScenarioResult {
  kind: Kind
  relay: Relay
  load: LoadResult
  /** CPU time (user+system) per completed request, in microseconds. `relay`: the floor's or the gateway's process. */
  cpuUsPerRequest: { relay: number; redis: number; postgres: number; mock: number; loadGenerator: number }
  /** Seconds waited after the load for the relay and Redis to go idle (inside the CPU window). */
  settleS: number
  /** Cores' worth of CPU the rest of the machine used meanwhile (steal = taken by the hypervisor). */
  otherLoad: { otherCores: number; stealCores: number }
  /** Set on a summary of rounds (medianRound): the relay's CPU µs per request in each round, in order. */
  roundsCpuUs?: number[]
  /** Set on a summary of rounds: the rounds measured again because the hypervisor stole too much meanwhile. */
  retakenRounds?: { cpuUs: number; stealCores: number }[]
  /** This round was measured again (too much stolen); its figures stand for nothing, but its failures still count. */
  retaken?: boolean
}

/** The middle value (the upper one of an even count), as the median round is chosen. */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
}

/** Each round's figure over the base's figure of the same round (the rounds' turns ran minutes apart at most). */
export function roundByRound(xs: number[], base: number[]): number[] {
  return xs.map((x, at) => x / base[at]!)
}

/**
 * The round whose relay CPU per request is the median (the upper one of an even count), standing for them all: its
 * other figures (req/s, latency, Redis) are of that same round, so they stay consistent with it.
 */
export function medianRound(measured: ScenarioResult[]): ScenarioResult {
  const rounds = measured.filter((r) => !r.retaken)
  const sorted = [...rounds].sort((a, b) => a.cpuUsPerRequest.relay - b.cpuUsPerRequest.relay)
  const retakenRounds = measured.filter((r) => r.retaken).map((r) => ({ cpuUs: r.cpuUsPerRequest.relay, stealCores: r.otherLoad.stealCores }))
  return { ...sorted[Math.floor(sorted.length / 2)]!, roundsCpuUs: rounds.map((r) => r.cpuUsPerRequest.relay), retakenRounds }
}

/** The processes a scenario reads: the relay under load and the mock behind it. */
export interface Pids {
  relay: number
  mock: number
}

interface Snapshot {
  at: number
  relay: number
  mock: number
  benchUs: number
  redis: number
  postgres: number
  busy: number
  steal: number
}

function snapshot(pids: Pids): Snapshot {
  const usage = process.cpuUsage()
  const machine = machineBusySeconds()
  return {
    at: performance.now(),
    relay: cpuSeconds(pids.relay),
    mock: cpuSeconds(pids.mock),
    benchUs: usage.user + usage.system,
    redis: cpuSecondsByName(REDIS_PROCESSES),
    postgres: cpuSecondsByName(POSTGRES_PROCESSES),
    busy: machine.busy,
    steal: machine.steal,
  }
}

/**
 * Waits until the relay and Redis go quiet. Work the gateway defers (usage batches to Redis; with ROLE=all the
 * workers' inserts) belongs to the scenario that caused it, and must not leak into the next one.
 */
export async function settle(relayPid: number): Promise<number> {
  const started = performance.now()
  for (;;) {
    const before = cpuSeconds(relayPid) + cpuSecondsByName(REDIS_PROCESSES)
    await Bun.sleep(250)
    const used = cpuSeconds(relayPid) + cpuSecondsByName(REDIS_PROCESSES) - before
    if (used < 0.025 || performance.now() - started > 60_000) return (performance.now() - started) / 1000
  }
}

export interface LoadShape {
  connections: number
  durationS: number
  warmupS: number
}

/** Warms the same target, lets everything settle, then measures it; the relay's deferred work is inside the window. */
export async function measure(kind: Kind, relay: Relay, target: Target, pids: Pids, shape: LoadShape): Promise<ScenarioResult> {
  if (shape.warmupS > 0) await runLoad(target, shape.connections, shape.warmupS)
  await settle(pids.relay)
  const s0 = snapshot(pids)
  const load = await runLoad(target, shape.connections, shape.durationS)
  const settleS = await settle(pids.relay)
  const s1 = snapshot(pids)
  const per = (seconds: number) => (load.requests > 0 ? (seconds * 1e6) / load.requests : Number.NaN)
  const benchS = (s1.benchUs - s0.benchUs) / 1e6
  const ours = s1.relay - s0.relay + (s1.mock - s0.mock) + benchS + (s1.redis - s0.redis) + (s1.postgres - s0.postgres)
  const wallS = (s1.at - s0.at) / 1000
  return {
    kind,
    relay,
    load,
    settleS,
    cpuUsPerRequest: {
      relay: per(s1.relay - s0.relay),
      // Summed over live processes: a backend that exits mid-scenario takes its ticks with it, hence the clamp.
      redis: per(Math.max(0, s1.redis - s0.redis)),
      postgres: per(Math.max(0, s1.postgres - s0.postgres)),
      mock: per(s1.mock - s0.mock),
      loadGenerator: per(benchS),
    },
    // Clamped: tick rounding can dip below zero.
    otherLoad: { otherCores: Math.max(0, (s1.busy - s0.busy - ours) / wallS), stealCores: (s1.steal - s0.steal) / wallS },
  }
}

/** A scenario whose figures do not describe the path it names: something was refused, failed or cut. */
export function refused(s: ScenarioResult): boolean {
  return s.load.non2xx > 0 || s.load.errors > 0 || s.load.timeouts > 0 || s.load.mismatches > 0
}
