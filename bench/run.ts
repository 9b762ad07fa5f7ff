// Bench entry point (`bun run bench`): mock upstream + gateway as child processes, direct vs through-gateway load and TTFB.
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { measureTtfb, runLoad, verifyCompletion, verifyStream, type Target } from './lib-load'
import { clockTicksPerSecond, cpuSeconds, installCleanup, killChildren, machineBusySeconds, startGateway, startMock, stopChild, type Gateway } from './lib-proc'
import { benchStores, clearQueues, cpuSecondsByName, POSTGRES_PROCESSES, prepareStores, REDIS_PROCESSES } from './lib-stores'
import { formatScenarios, formatTtfb, writeReport, type Report, type ScenarioResult, type TtfbRow } from './lib-report'

const USAGE = `usage: bun bench/run.ts [--connections 32] [--duration 10] [--warmup 2] [--ttfb-requests 300] [--log-levels warn,info] [--role api|all]`

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    'ttfb-requests': { type: 'string', default: '300' },
    'log-levels': { type: 'string', default: 'warn,info' },
    role: { type: 'string', default: 'api' },
    help: { type: 'boolean', default: false },
  },
})
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}

function positiveInt(name: string, raw: string): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}\n${USAGE}`)
    process.exit(2)
  }
  return value
}

const connections = positiveInt('connections', args.connections)
const durationS = positiveInt('duration', args.duration)
const warmupS = Number(args.warmup)
const ttfbRequests = positiveInt('ttfb-requests', args['ttfb-requests'])
const logLevels = args['log-levels'].split(',').map((l) => l.trim()).filter(Boolean)
if (logLevels.length === 0 || logLevels.some((l) => !['debug', 'info', 'warn', 'error', 'silent'].includes(l))) {
  console.error(`--log-levels takes a comma-separated list of debug|info|warn|error|silent\n${USAGE}`)
  process.exit(2)
}

const role = args.role
if (role !== 'api' && role !== 'all') {
  console.error(`--role takes api (the request path only) or all (also the usage workers)\n${USAGE}`)
  process.exit(2)
}
const stores = benchStores()

const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant.' },
  { role: 'user', content: 'In one sentence: what does a metering gateway do?' },
]
// Both paths get the same request shape; the gateway rewrites the model to `gpt-4o` and always asks for usage.
const body = (model: string, stream: boolean) =>
  JSON.stringify(stream ? { model, messages: MESSAGES, stream: true, stream_options: { include_usage: true } } : { model, messages: MESSAGES })

function targets(mockPort: number, gatewayPort: number | null) {
  const json = { 'content-type': 'application/json' }
  const direct = `http://127.0.0.1:${mockPort}/v1/chat/completions`
  const gatewayHeaders = { ...json, authorization: 'Bearer bench-key' }
  const gateway = `http://127.0.0.1:${gatewayPort}/v1/chat/completions`
  return {
    directPlain: { url: direct, headers: json, body: body('gpt-4o', false) },
    directStream: { url: direct, headers: json, body: body('gpt-4o', true) },
    gatewayPlain: { url: gateway, headers: gatewayHeaders, body: body('openai/gpt-4o', false) },
    gatewayStream: { url: gateway, headers: gatewayHeaders, body: body('openai/gpt-4o', true) },
  } satisfies Record<string, Target>
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)

interface Snapshot {
  at: number
  mock: number
  gateway: number
  benchUs: number
  redis: number
  postgres: number
  busy: number
  steal: number
}

function snapshot(mockPid: number, gateway: Gateway | null): Snapshot {
  const usage = process.cpuUsage()
  const machine = machineBusySeconds()
  return {
    at: performance.now(),
    mock: cpuSeconds(mockPid),
    gateway: gateway ? cpuSeconds(gateway.child.pid) : 0,
    benchUs: usage.user + usage.system,
    redis: cpuSecondsByName(REDIS_PROCESSES),
    postgres: cpuSecondsByName(POSTGRES_PROCESSES),
    busy: machine.busy,
    steal: machine.steal,
  }
}

/**
 * Waits until the gateway and Redis go quiet. Work the gateway defers (usage batches to Redis; with ROLE=all the
 * workers' inserts) belongs to the scenario that caused it, and must not leak into the next one.
 */
async function settle(gateway: Gateway): Promise<number> {
  const started = performance.now()
  for (;;) {
    const before = cpuSeconds(gateway.child.pid) + cpuSecondsByName(REDIS_PROCESSES)
    await Bun.sleep(250)
    const used = cpuSeconds(gateway.child.pid) + cpuSecondsByName(REDIS_PROCESSES) - before
    if (used < 0.025 || performance.now() - started > 60_000) return (performance.now() - started) / 1000
  }
}

async function measure(
  spec: Omit<ScenarioResult, 'load' | 'cpuUsPerRequest' | 'otherLoad' | 'settleS'>,
  target: Target,
  mockPid: number,
  gateway: Gateway | null,
): Promise<ScenarioResult> {
  log(`(${spec.key}) ${spec.name}: ${connections} connections, ${durationS} s`)
  const s0 = snapshot(mockPid, gateway)
  const load = await runLoad(target, connections, durationS)
  const settleS = gateway ? await settle(gateway) : 0
  const s1 = snapshot(mockPid, gateway)
  const per = (seconds: number) => (load.requests > 0 ? (seconds * 1e6) / load.requests : Number.NaN)
  const ours = s1.mock - s0.mock + (s1.gateway - s0.gateway) + (s1.benchUs - s0.benchUs) / 1e6 + (s1.redis - s0.redis) + (s1.postgres - s0.postgres)
  const wallS = (s1.at - s0.at) / 1000
  if (load.non2xx > 0 || load.errors > 0 || load.timeouts > 0) {
    log(`  !! non2xx=${load.non2xx} errors=${load.errors} timeouts=${load.timeouts} statusCodes=${JSON.stringify(load.statusCodes)}`)
    for (const message of load.sampleErrors) log(`  !! error: ${message}`)
  }
  return {
    ...spec,
    load,
    settleS,
    cpuUsPerRequest: {
      gateway: gateway ? per(s1.gateway - s0.gateway) : null,
      redis: per(s1.redis - s0.redis),
      postgres: per(s1.postgres - s0.postgres),
      mock: per(s1.mock - s0.mock),
      loadGenerator: per((s1.benchUs - s0.benchUs) / 1e6),
    },
    // Clamped: tick rounding can dip below zero.
    otherLoad: { otherCores: Math.max(0, (s1.busy - s0.busy - ours) / wallS), stealCores: (s1.steal - s0.steal) / wallS },
  }
}

async function warm(list: Target[], gateway: Gateway): Promise<void> {
  if (warmupS > 0) for (const target of list) await runLoad(target, connections, warmupS)
  await settle(gateway)
  await clearQueues(stores)
}

/** Usage jobs of a finished scenario are dropped (ROLE=api never consumes them) so Redis does not grow all run. */
async function afterGatewayScenario(result: ScenarioResult): Promise<ScenarioResult> {
  await clearQueues(stores)
  return result
}

async function main(): Promise<void> {
  installCleanup()
  const startedAt = new Date().toISOString()
  await prepareStores(stores)
  log(`stores: ${stores.databaseUrl}, ${stores.redisUrl}${stores.owned ? ' (bench-owned, emptied)' : ''}; gateway ROLE=${role}`)
  const gatewayEnv = { ROLE: role, DATABASE_URL: stores.databaseUrl, REDIS_URL: stores.redisUrl }
  const mock = await startMock()
  log(`mock upstream pid ${mock.child.pid} on :${mock.port}`)
  const scenarios: ScenarioResult[] = []
  const ttfb: TtfbRow[] = []

  // Passes: each log level with admission on, then (same log level as the first) admission off, to price admission.
  const passes = [
    ...logLevels.map((logLevel) => ({ logLevel, label: `LOG_LEVEL=${logLevel}`, env: {} as Record<string, string> })),
    // A static key with no rpm/tpm limit has nothing to check: the gateway then skips the admission round trip.
    { logLevel: logLevels[0]!, label: 'admission off', env: { DEFAULT_RPM: '0', DEFAULT_TPM: '0' } },
  ]
  for (const [index, pass] of passes.entries()) {
    const { logLevel } = pass
    const gateway = await startGateway(mock.port, logLevel, { ...gatewayEnv, ...pass.env })
    log(`gateway pid ${gateway.child.pid} on :${gateway.port} (${pass.label})`)
    const t = targets(mock.port, gateway.port)
    const first = index === 0
    const suffix = first ? '' : ` [${pass.label}]`
    // A broken relay would otherwise show up as a suspiciously fast benchmark; check the bytes before timing anything.
    await verifyCompletion(t.directPlain, 'direct non-stream')
    await verifyCompletion(t.gatewayPlain, 'gateway non-stream')
    await verifyStream(t.directStream, 'direct stream')
    await verifyStream(t.gatewayStream, 'gateway stream')
    log('responses verified (gateway stream: 20 content chunks, usage chunk, [DONE])')
    await warm(first ? [t.directPlain, t.gatewayPlain, t.directStream, t.gatewayStream] : [t.gatewayPlain, t.gatewayStream], gateway)
    await measureTtfb(t.directStream, 50)
    await measureTtfb(t.gatewayStream, 50)

    const pid = mock.child.pid
    if (first) scenarios.push(await measure({ key: 'a', name: 'non-stream direct', via: 'direct', stream: false, logLevel: null, baseline: null }, t.directPlain, pid, null))
    const variant = pass.label === 'admission off' ? 'noadm' : logLevel
    const kb = first ? 'b' : `b-${variant}`
    scenarios.push(await afterGatewayScenario(await measure({ key: kb, name: `non-stream via gateway${suffix}`, via: 'gateway', stream: false, logLevel, baseline: 'a' }, t.gatewayPlain, pid, gateway)))
    if (first) scenarios.push(await measure({ key: 'c', name: 'stream 20 chunks direct', via: 'direct', stream: true, logLevel: null, baseline: null }, t.directStream, pid, null))
    const kd = first ? 'd' : `d-${variant}`
    scenarios.push(await afterGatewayScenario(await measure({ key: kd, name: `stream 20 chunks via gateway${suffix}`, via: 'gateway', stream: true, logLevel, baseline: 'c' }, t.gatewayStream, pid, gateway)))

    log(`(e) time to first byte, ${ttfbRequests} sequential streaming requests each`)
    const direct = await measureTtfb(t.directStream, ttfbRequests)
    const through = await measureTtfb(t.gatewayStream, ttfbRequests)
    ttfb.push({ logLevel: pass.label === 'admission off' ? `${logLevel}, admission off` : logLevel, direct, gateway: through })
    await stopChild(gateway.child)
    await clearQueues(stores)
  }
  await stopChild(mock.child)

  const notes = [
    `The load generator (autocannon, pipelining 1) runs inside this bench process and shares the machine's ${cpus().length} cores with the gateway and the mock: req/s and latency describe the whole box (load generator + mock + gateway), not the gateway alone. CPU µs/req is the figure that carries over to other machines.`,
    'Latency percentiles are exact (from per-response float times), not autocannon\'s whole-millisecond histogram.',
    `CPU per request = (utime+stime from /proc/<pid>/stat, ${clockTicksPerSecond()} ticks/s) over the scenario / completed requests; the load generator's comes from process.cpuUsage().`,
    'The LOG_LEVEL=info rows add whatever the gateway logs per request at info (warn keeps it out); they match the warn rows within noise when the chat path logs nothing per request. The gateway\'s stdout goes to /dev/null: formatting and the write syscall still count.',
    '"other/steal cores": machine-wide busy CPU (/proc/stat) not spent by the gateway, the mock, this process, Redis or Postgres, and CPU stolen by the hypervisor, averaged over the scenario; well above ~0.05 means something else ran meanwhile and that row is suspect.',
    `Gateway ROLE=${role}${role === 'api' ? ' (usage jobs are queued in Redis, not consumed)' : ' (its usage workers write to Postgres in the same process)'}; the gateway CPU of a scenario includes the wait until it and Redis are idle again, so deferred usage work counts. It uses its own stores (${stores.databaseUrl}, ${stores.redisUrl}), not the dev ones.`,
    `Settings the bench does not set come from the environment: METER_CROSSCHECK_RATE=${process.env.METER_CROSSCHECK_RATE ?? '(default)'}.`,
  ]
  const report: Report = {
    startedAt,
    machine: { cpus: cpus().length, bun: Bun.version, platform: `${process.platform}-${process.arch}`, clockTicksPerSecond: clockTicksPerSecond() },
    settings: { connections, durationS, warmupS, ttfbRequests, logLevels, role, pipelining: 1, databaseUrl: stores.databaseUrl, redisUrl: stores.redisUrl },
    scenarios,
    ttfb,
    notes,
  }

  console.log(`\nMeterway bench: bun ${Bun.version}, ${cpus().length} CPUs, ${connections} connections, ${durationS} s per scenario, pipelining 1`)
  console.log(`gateway ROLE=${role}, LOG_LEVEL=${logLevels[0]} unless the scenario says otherwise\n`)
  console.log(formatScenarios(scenarios))
  console.log('')
  console.log(formatTtfb(ttfb))
  console.log('')
  for (const note of notes) console.log(`* ${note}`)

  const outPath = new URL('./results/latest.json', import.meta.url).pathname
  await writeReport(report, outPath)
  console.log(`\nresults written to ${outPath}`)

  const bad = scenarios.filter((s) => s.load.non2xx > 0 || s.load.errors > 0 || s.load.timeouts > 0)
  if (bad.length > 0) {
    console.error(`\nFAILED: non-2xx responses or errors in ${bad.map((s) => `(${s.key})`).join(', ')}`)
    process.exitCode = 1
  }
}

main().catch((error: unknown) => {
  killChildren()
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  process.exit(1)
})
