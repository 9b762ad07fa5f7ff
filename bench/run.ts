// Bench entry point (`bun run bench`): mock upstream + gateway as child processes, direct vs through-gateway load and TTFB.
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { measureTtfb, runLoad, verifyCompletion, verifyStream, type Target } from './lib-load'
import { clockTicksPerSecond, cpuSeconds, installCleanup, killChildren, startGateway, startMock, stopChild, type Gateway } from './lib-proc'
import { formatScenarios, formatTtfb, writeReport, type Report, type ScenarioResult, type TtfbRow } from './lib-report'

const USAGE = `usage: bun bench/run.ts [--connections 32] [--duration 10] [--warmup 2] [--ttfb-requests 300] [--log-levels warn,info]`

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    'ttfb-requests': { type: 'string', default: '300' },
    'log-levels': { type: 'string', default: 'warn,info' },
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
const benchCpuUs = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

async function measure(
  spec: Omit<ScenarioResult, 'load' | 'cpuUsPerRequest'>,
  target: Target,
  mockPid: number,
  gateway: Gateway | null,
): Promise<ScenarioResult> {
  log(`(${spec.key}) ${spec.name}: ${connections} connections, ${durationS} s`)
  const mock0 = cpuSeconds(mockPid)
  const gw0 = gateway ? cpuSeconds(gateway.child.pid) : 0
  const bench0 = benchCpuUs()
  const load = await runLoad(target, connections, durationS)
  const benchUs = benchCpuUs() - bench0
  const mockS = cpuSeconds(mockPid) - mock0
  const gwS = gateway ? cpuSeconds(gateway.child.pid) - gw0 : 0
  const per = (total: number) => (load.requests > 0 ? total / load.requests : Number.NaN)
  if (load.non2xx > 0 || load.errors > 0 || load.timeouts > 0) {
    log(`  !! non2xx=${load.non2xx} errors=${load.errors} timeouts=${load.timeouts} statusCodes=${JSON.stringify(load.statusCodes)}`)
    for (const message of load.sampleErrors) log(`  !! error: ${message}`)
  }
  return {
    ...spec,
    load,
    cpuUsPerRequest: { gateway: gateway ? per(gwS * 1e6) : null, mock: per(mockS * 1e6), loadGenerator: per(benchUs) },
  }
}

async function warm(list: Target[]): Promise<void> {
  if (!(warmupS > 0)) return
  for (const target of list) await runLoad(target, connections, warmupS)
}

async function main(): Promise<void> {
  installCleanup()
  const startedAt = new Date().toISOString()
  const mock = await startMock()
  log(`mock upstream pid ${mock.child.pid} on :${mock.port}`)
  const scenarios: ScenarioResult[] = []
  const ttfb: TtfbRow[] = []

  for (const [index, logLevel] of logLevels.entries()) {
    const gateway = await startGateway(mock.port, logLevel)
    log(`gateway pid ${gateway.child.pid} on :${gateway.port} (LOG_LEVEL=${logLevel})`)
    const t = targets(mock.port, gateway.port)
    const first = index === 0
    const suffix = first ? '' : ` [LOG_LEVEL=${logLevel}]`
    // A broken relay would otherwise show up as a suspiciously fast benchmark; check the bytes before timing anything.
    await verifyCompletion(t.directPlain, 'direct non-stream')
    await verifyCompletion(t.gatewayPlain, 'gateway non-stream')
    await verifyStream(t.directStream, 'direct stream')
    await verifyStream(t.gatewayStream, 'gateway stream')
    log('responses verified (gateway stream: 20 content chunks, usage chunk, [DONE])')
    await warm(first ? [t.directPlain, t.gatewayPlain, t.directStream, t.gatewayStream] : [t.gatewayPlain, t.gatewayStream])
    await measureTtfb(t.directStream, 50)
    await measureTtfb(t.gatewayStream, 50)

    const pid = mock.child.pid
    if (first) scenarios.push(await measure({ key: 'a', name: 'non-stream direct', via: 'direct', stream: false, logLevel: null, baseline: null }, t.directPlain, pid, null))
    const kb = first ? 'b' : `b-${logLevel}`
    scenarios.push(await measure({ key: kb, name: `non-stream via gateway${suffix}`, via: 'gateway', stream: false, logLevel, baseline: 'a' }, t.gatewayPlain, pid, gateway))
    if (first) scenarios.push(await measure({ key: 'c', name: 'stream 20 chunks direct', via: 'direct', stream: true, logLevel: null, baseline: null }, t.directStream, pid, null))
    const kd = first ? 'd' : `d-${logLevel}`
    scenarios.push(await measure({ key: kd, name: `stream 20 chunks via gateway${suffix}`, via: 'gateway', stream: true, logLevel, baseline: 'c' }, t.gatewayStream, pid, gateway))

    log(`(e) time to first byte, ${ttfbRequests} sequential streaming requests each`)
    const direct = await measureTtfb(t.directStream, ttfbRequests)
    const through = await measureTtfb(t.gatewayStream, ttfbRequests)
    ttfb.push({ logLevel, direct, gateway: through })
    await stopChild(gateway.child)
  }
  await stopChild(mock.child)

  const notes = [
    `The load generator (autocannon, pipelining 1) runs inside this bench process and shares the machine's ${cpus().length} cores with the gateway and the mock; absolute req/s are a lower bound and the gateway/direct ratio understates the gateway's cost when the cores are saturated.`,
    'Latency percentiles are exact (from per-response float times), not autocannon\'s whole-millisecond histogram.',
    `CPU per request = (utime+stime from /proc/<pid>/stat, ${clockTicksPerSecond()} ticks/s) over the scenario / completed requests; the load generator's comes from process.cpuUsage().`,
    'The gateway\'s usage sink logs one line per request at info: LOG_LEVEL=warn keeps that I/O out; its stdout goes to /dev/null (formatting and the write syscall still count).',
    'The gateway runs with its default METER_CROSSCHECK=true (tiktoken counts the output of every request).',
  ]
  const report: Report = {
    startedAt,
    machine: { cpus: cpus().length, bun: Bun.version, platform: `${process.platform}-${process.arch}`, clockTicksPerSecond: clockTicksPerSecond() },
    settings: { connections, durationS, warmupS, ttfbRequests, logLevels, pipelining: 1 },
    scenarios,
    ttfb,
    notes,
  }

  console.log(`\nMeterway bench: bun ${Bun.version}, ${cpus().length} CPUs, ${connections} connections, ${durationS} s per scenario, pipelining 1`)
  console.log(`gateway LOG_LEVEL=${logLevels[0]} unless the scenario says otherwise\n`)
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
