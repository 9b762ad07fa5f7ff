// Bench entry point (`bun run bench`): the floor and the gateway (per payment method) before one mock, in one run, every figure beside the floor's.
import { cpus } from 'node:os'
import { measureTtfbInTurns, runLoad, verifyCompletion, verifyStream, type Target } from './lib-load'
import { measure, medianRound, refused, type Pids, type ScenarioResult } from './lib-measure'
import { memoryPhase, type MemoryRow } from './lib-memory'
import { ADMIN_TOKEN, methodKeys, RELAY_LABELS, STATIC_KEY, target, type Relay } from './lib-methods'
import { parseOptions } from './lib-options'
import { clockTicksPerSecond, installCleanup, RUNTIME_ENV, killChildren, startFloor, startGateway, startMock, stopChild } from './lib-proc'
import { formatMemory, formatScenarios, formatTtfb, KIND_LABELS, TARGETS, writeReport, type Report, type TtfbRow } from './lib-report'
import { markdownTable } from './lib-summary'
import { benchStores, clearQueues, dropBenchKeys, prepareStores } from './lib-stores'

const o = parseOptions()
const stores = benchStores()
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)

/** One relay in front of the mock: the floor (no key) or the gateway called with one payment method's key. */
interface Lane {
  relay: Relay
  port: number
  pid: number
  key: string | null
}

const isGateway = (lane: Lane) => lane.relay !== 'floor'

/** A broken relay would otherwise show up as a suspiciously fast benchmark: check the bytes before timing anything. */
async function verify(lanes: Lane[]): Promise<void> {
  for (const lane of lanes) {
    const label = RELAY_LABELS[lane.relay]
    if (o.kinds.includes('json')) await verifyCompletion(target(lane.port, 'json', lane.key), `${label} JSON`)
    if (o.kinds.includes('stream')) await verifyStream(target(lane.port, 'stream', lane.key), `${label} stream`)
    if (o.kinds.includes('paced')) await verifyStream(target(lane.port, 'paced', lane.key), `${label} paced stream`)
  }
  log(`responses verified for ${lanes.map((l) => RELAY_LABELS[l.relay]).join(', ')} (streams: 20 content chunks, finish "stop", usage chunk, [DONE])`)
}

/** Load after the first round is preceded by this much re-warming (the paths are warm by then; caches are not). */
const REWARM_S = 2

/** Every scenario's rounds, and for each scenario the round that stands for it (the median of its relay's CPU). */
interface LoadPhaseResult {
  scenarios: ScenarioResult[]
  rounds: ScenarioResult[]
}

async function loadPhase(lanes: Lane[], mockPid: number): Promise<LoadPhaseResult> {
  // Every path once before any is measured: the first scenario would otherwise also pay the gateway's JIT warmup
  // of the code the others share. JSC tiers hot code up over seconds: in one (noisy) test, prepaid JSON measured
  // first cost 376 µs/req after 1 s of warmup, 293 after 5 s, 277 when it came third.
  if (o.warmupS > 0) {
    log(`warming every relay and kind for ${o.warmupS} s each`)
    for (const kind of o.kinds) for (const lane of lanes) await runLoad(target(lane.port, kind, lane.key), o.connections, o.warmupS)
    if (lanes.some(isGateway)) await clearQueues(stores)
  }
  const scenarios: ScenarioResult[] = []
  const rounds: ScenarioResult[] = []
  for (const kind of o.kinds) {
    // The relays take turns, round after round: a noisy spell of this VM (a fifth and more, for seconds) then falls on
    // one round of each rather than on one relay's only figure, and the median leaves it out.
    const byRelay = new Map<Relay, ScenarioResult[]>(lanes.map((lane) => [lane.relay, []]))
    for (let round = 1; round <= o.rounds; round++) {
      const warmupS = round === 1 ? o.warmupS : Math.min(o.warmupS, REWARM_S)
      for (const lane of lanes) {
        for (let attempt = 0; ; attempt++) {
          const again = attempt > 0 ? `, measured again (${attempt}/${o.retakes})` : ''
          log(`${KIND_LABELS[kind]} via ${RELAY_LABELS[lane.relay]}, round ${round}/${o.rounds}${again}: ${attempt > 0 ? REWARM_S : warmupS} s warmup, then ${o.connections} connections for ${o.durationS} s`)
          const pids: Pids = { relay: lane.pid, mock: mockPid }
          const s = await measure(kind, lane.relay, target(lane.port, kind, lane.key), pids, { ...o, warmupS: attempt > 0 ? REWARM_S : warmupS })
          // ROLE=api never takes the usage batches; dropping them keeps Redis from growing all run.
          if (isGateway(lane)) await clearQueues(stores)
          const stolen = s.otherLoad.stealCores
          log(`  ${s.load.rps.toFixed(0)} req/s, p50 ${s.load.p50Ms.toFixed(2)} ms, ${s.cpuUsPerRequest.relay.toFixed(0)} µs CPU/req, ${stolen.toFixed(2)} cores stolen`)
          if (refused(s)) {
            log(`  !! REFUSED OR BROKEN: non2xx=${s.load.non2xx} errors=${s.load.errors} timeouts=${s.load.timeouts} cut=${s.load.mismatches} statusCodes=${JSON.stringify(s.load.statusCodes)}`)
            for (const message of s.load.sampleErrors) log(`  !! error: ${message}`)
          }
          // Every round is kept in the report (a failure in one that is measured again still fails the run).
          rounds.push(s)
          byRelay.get(lane.relay)!.push(s)
          // A VM whose host takes cores away runs everything slower meanwhile (this process, the mock, the relay):
          // such a round measures the host, so it is measured again, a bounded number of times.
          if (stolen <= o.retakeStealCores || attempt >= o.retakes) break
          s.retaken = true
          log(`  the hypervisor stole ${stolen.toFixed(2)} cores (over ${o.retakeStealCores}): this round is measured again`)
        }
      }
    }
    for (const lane of lanes) scenarios.push(medianRound(byRelay.get(lane.relay)!))
  }
  return { scenarios, rounds }
}

/**
 * Sequential streaming requests, the relays taking turns of 25 (the first 5 of a turn, which wake the relay, not
 * counted), after an untimed pass; the floor first, so every row has its yardstick.
 */
async function ttfbPhase(lanes: Lane[]): Promise<TtfbRow[]> {
  log(`time to first byte: ${o.ttfbRequests} sequential streaming requests per relay, in turns`)
  const targets: Target[] = lanes.map((lane) => target(lane.port, 'stream', lane.key))
  await measureTtfbInTurns(targets, 50)
  const { results } = await measureTtfbInTurns(targets, o.ttfbRequests)
  if (lanes.some(isGateway)) await clearQueues(stores)
  return lanes.map((lane, i) => ({ relay: lane.relay, result: results[i]! }))
}

function notes(rounds: ScenarioResult[]): string[] {
  return [
    `The floor (bench/floor.ts) is the thinnest Bun passthrough: parse the body, rename the model, fetch the mock, stream its body back. Each gateway figure is divided by the floor's of the same run. Both start with Bun's settings of \`bun run start\`: ${Object.entries(RUNTIME_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}.`,
    `Gateway payment methods: the static key GATEWAY_API_KEYS with DEFAULT_RPM=100000000 (admission runs, never refuses); agents registered through POST /agents/register with an active subscription, one postpaid with a $1,000,000 spending cap, one prepaid with a $1,000,000 credit (its streams, without max_tokens, hold progressively).`,
    `Each scenario was measured in ${o.rounds} round(s), the relays taking turns (${o.warmupS} s of warmup before each in the first round, ${Math.min(o.warmupS, REWARM_S)} s after); every figure of a scenario is from its median round (by the relay's CPU per request), each round's CPU shown beside it. "× floor round by round": each round's gateway CPU over the floor's of the same round, the median and range of those ratios (the target is judged on the ratio of the medians). A round during which the hypervisor stole more than ${o.retakeStealCores} cores was measured again (at most ${o.retakes} times, ${REWARM_S} s warmup); the rounds so replaced are listed after the kept ones ("retaken"), with the cores stolen, and not counted in the median.${retakenSummary(rounds)} Time to first byte: the relays take turns of 25 sequential requests (each turn starting one relay later), the first 5 of each turn not counted.`,
    `The load generator (autocannon, pipelining 1) runs inside this bench process and shares the machine's ${cpus().length} cores with the relay and the mock: req/s and latency describe the whole box. CPU µs/req is the figure that carries over.`,
    `CPU per request = utime+stime from /proc/<pid>/stat (${clockTicksPerSecond()} ticks/s, all threads) over the scenario, including the wait until the relay and Redis are idle again, / completed requests. Latency percentiles are exact (per-response float times).`,
    `Every response under load is checked (a JSON answer or a stream that ends with finish_reason "stop" and [DONE]); "cut" counts those that were not.`,
    `"other/steal cores": machine-wide busy CPU (/proc/stat) not spent by the relay, the mock, this process, Redis or Postgres, and CPU stolen by the hypervisor; well above ~0.05 means something else ran meanwhile and that row is suspect.`,
    `Gateway ROLE=${o.role}${o.role === 'api' ? ' (usage batches are pushed to Redis, not made jobs)' : ' (its workers make them jobs and write them to Postgres in the same process)'}, LOG_LEVEL=${o.logLevel}, stores ${stores.databaseUrl} and ${stores.redisUrl}. METER_CROSSCHECK_RATE=${process.env.METER_CROSSCHECK_RATE ?? '(default)'}.`,
    `Memory: slow streams (20 chunks 1 s apart) through a fresh floor and a fresh gateway (static key); RSS = VmRSS from /proc/<pid>/status at the most streams open upstream, minus VmRSS when idle after 200 warmup streams, / streams open.`,
  ]
}

/** How many rounds were measured again, of how many. */
function retakenSummary(rounds: ScenarioResult[]): string {
  const retaken = rounds.filter((r) => r.retaken).length
  return rounds.length === 0 ? '' : ` In this run: ${retaken} of ${rounds.length} rounds measured were replaced.`
}

/** The load and time-to-first-byte phases, against one mock, floor and gateway (`--only memory` skips them). */
async function loadAndTtfb(gatewayEnv: Record<string, string>): Promise<LoadPhaseResult & { ttfb: TtfbRow[] }> {
  const mock = await startMock()
  const floor = await startFloor(mock.port)
  const gateway = await startGateway(mock.port, o.logLevel, gatewayEnv)
  log(`mock pid ${mock.child.pid} :${mock.port}, floor pid ${floor.child.pid} :${floor.port}, gateway pid ${gateway.child.pid} :${gateway.port}`)
  const keys = await methodKeys(gateway.port, o.methods)
  const lanes: Lane[] = [
    { relay: 'floor', port: floor.port, pid: floor.child.pid, key: null },
    ...o.methods.map((m) => ({ relay: m, port: gateway.port, pid: gateway.child.pid, key: keys[m] })),
  ]
  await verify(lanes)
  const { scenarios, rounds } = await loadPhase(lanes, mock.child.pid)
  const ttfb = o.kinds.includes('stream') ? await ttfbPhase(lanes) : []
  await stopChild(gateway.child)
  await stopChild(floor.child)
  await stopChild(mock.child)
  await clearQueues(stores)
  return { scenarios, rounds, ttfb }
}

async function main(): Promise<void> {
  installCleanup()
  const startedAt = new Date()
  await prepareStores(stores)
  log(`stores: ${stores.databaseUrl}, ${stores.redisUrl}${stores.owned ? ' (bench-owned, emptied)' : ''}`)
  const gatewayEnv = {
    ROLE: o.role,
    DATABASE_URL: stores.databaseUrl,
    REDIS_URL: stores.redisUrl,
    GATEWAY_API_KEYS: STATIC_KEY,
    ADMIN_TOKEN,
    // A static key's request bucket is checked on every request (one Redis round trip) and never refuses this load.
    DEFAULT_RPM: '100000000',
  }

  const { scenarios, rounds, ttfb } = o.memoryOnly ? { scenarios: [], rounds: [], ttfb: [] } : await loadAndTtfb(gatewayEnv)

  const memory: MemoryRow[] = o.streams > 0 ? await memoryPhase({ streams: o.streams, logLevel: o.logLevel, gatewayEnv, log }) : []
  await dropBenchKeys(stores)

  const wallSeconds = (Date.now() - startedAt.getTime()) / 1000
  const command = ['bun run bench', ...process.argv.slice(2)].join(' ')
  const markdown = markdownTable(o, scenarios, ttfb, memory)
  const report: Report = {
    startedAt: startedAt.toISOString(),
    wallSeconds,
    command,
    machine: { cpus: cpus().length, bun: Bun.version, platform: `${process.platform}-${process.arch}`, clockTicksPerSecond: clockTicksPerSecond() },
    settings: { ...o, pipelining: 1, databaseUrl: stores.databaseUrl, redisUrl: stores.redisUrl },
    targets: TARGETS,
    scenarios,
    rounds,
    ttfb,
    memory,
    markdown,
    notes: notes(rounds),
  }

  console.log(`\nMeterway bench (${command}): bun ${Bun.version}, ${cpus().length} CPUs, ${o.connections} connections, ${o.durationS} s per scenario, ${wallSeconds.toFixed(0)} s in all\n`)
  console.log(formatScenarios(scenarios))
  if (ttfb.length > 0) console.log(`\n${formatTtfb(ttfb)}`)
  if (memory.length > 0) console.log(`\n${formatMemory(memory)}`)
  console.log('')
  for (const note of report.notes) console.log(`* ${note}`)
  console.log(`\n${markdown}`)

  const outPath = new URL('./results/latest.json', import.meta.url).pathname
  await writeReport(report, outPath)
  console.log(`\nresults written to ${outPath}`)

  // Targets missed are results; a refused, failed or cut request means the figures do not describe the path they name.
  const bad = [...new Set(rounds.filter(refused).map((s) => `${KIND_LABELS[s.kind]} via ${RELAY_LABELS[s.relay]}`))]
  bad.push(...memory.filter((m) => !m.ok).map((m) => `${m.ran} open streams via ${RELAY_LABELS[m.relay]}`))
  if (bad.length > 0) {
    console.error(`\nFAILED: non-2xx responses, errors or cut answers in: ${bad.join('; ')}`)
    process.exitCode = 1
  }
}

main()
  // Something (autocannon's timers or an idle keep-alive socket) would hold the process ~10 s after the report.
  .then(() => process.exit())
  .catch((error: unknown) => {
    killChildren()
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exit(1)
  })
