// Capacity bench (`bun run bench:capacity`): N slow streams at once through the gateway, all open upstream together, all complete.
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { parseArgs } from 'node:util'
import Redis from 'ioredis'
import { installCleanup, killChildren, spawnChild, startGateway, startMock, stopChild } from './lib-proc'
import { prepareStores, type Stores } from './lib-stores'

const USAGE = 'usage: bun bench/capacity.ts [--streams 10000] [--chunks 20] [--interval-ms 1000] [--warmup 200]'
const { values: args } = parseArgs({
  options: {
    streams: { type: 'string', default: '10000' },
    chunks: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '200' },
    help: { type: 'boolean', default: false },
  },
})
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}
function positiveInt(name: string, raw: string, min = 1): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}\n${USAGE}`)
    process.exit(2)
  }
  return value
}
const streams = positiveInt('streams', args.streams)
const chunks = positiveInt('chunks', args.chunks)
const intervalMs = positiveInt('interval-ms', args['interval-ms'], 0)
const warmup = positiveInt('warmup', args.warmup, 0)

const KEY = 'bench-key'
// Stores of its own: `bun run bench` empties meterway_bench and Redis db 15 when it starts, perhaps mid-run.
const STORES: Stores = { databaseUrl: 'postgres://postgres@127.0.0.1:5432/meterway_bench_capacity', redisUrl: 'redis://127.0.0.1:6379/14', owned: false }
const QUEUE_PREFIX = '{mwcap}'
const log = (line: string) => process.stderr.write(`[capacity] ${line}\n`)

function procStatus(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))
  return Number(line?.split(/\s+/)[1] ?? NaN) // kB
}
const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length
function fileLimits(pid: number | 'self'): { soft: number; hard: number } {
  const fields = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!.split(/\s{2,}/)
  const value = (v: string | undefined) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v))
  return { soft: value(fields[1]), hard: value(fields[2]) }
}

interface ClientSummary {
  type: 'summary'
  ms: number
  headers: number
  firstChunk: number
  complete: number
  incomplete: number
  statuses: Record<string, number>
  errors: Record<string, number>
  errorSamples: string[]
  allHeadersMs: number | null
  allFirstChunkMs: number | null
}

/** Runs bench/stream-clients.ts in its own process (its own 20,000-descriptor budget) and hands over its JSON lines. */
async function runClients(port: number, count: number, onProgress: (line: Record<string, unknown>) => void): Promise<ClientSummary> {
  // Its fetch pool must hold every stream at once, like the gateway's.
  const child = spawnChild(['bun', 'bench/stream-clients.ts', `http://127.0.0.1:${port}/v1/chat/completions`, KEY, String(count), String(chunks)], { BUN_CONFIG_MAX_HTTP_REQUESTS: '65535' })
  const decoder = new TextDecoder()
  let buffered = ''
  let summary: ClientSummary | null = null
  for await (const part of child.stdout) {
    buffered += decoder.decode(part, { stream: true })
    let newline: number
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, newline))
      buffered = buffered.slice(newline + 1)
      if (line.type === 'summary') summary = line
      else onProgress(line)
    }
  }
  await child.exited
  if (!summary) throw new Error(`the load generator exited (${child.exitCode}) without a summary`)
  return summary
}

async function mockStats(port: number): Promise<{ open: number; peak: number; started: number; completed: number }> {
  return (await fetch(`http://127.0.0.1:${port}/stats`)).json() as never
}

async function setMockInterval(port: number, ms: number): Promise<void> {
  await (await fetch(`http://127.0.0.1:${port}/config`, { method: 'POST', body: JSON.stringify({ intervalMs: ms }) })).arrayBuffer()
}

async function dropQueuedUsage(): Promise<void> {
  const redis = new Redis(STORES.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:*`, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) await redis.unlink(...keys)
  } while (cursor !== '0')
  redis.disconnect()
}

installCleanup()
const limits = fileLimits('self')
// Each stream holds a client socket and an upstream socket in the gateway, beside its own ~60 descriptors.
const gatewayNeeds = 2 * streams + 60
log(`open-file limit here: soft ${limits.soft}, hard ${limits.hard} (Bun raises its soft limit to the hard one; children inherit it)`)
if (gatewayNeeds > limits.hard) {
  log(`the gateway needs about ${gatewayNeeds} descriptors for ${streams} streams; the hard limit is ${limits.hard}, so about ${Math.floor((limits.hard - 60) / 2)} fit. Streams past that get 503 gateway_capacity_exhausted (EMFILE) or are not accepted.`)
}

await prepareStores(STORES)
await dropQueuedUsage()
const mock = await startMock('bench/slow-upstream.ts', { MOCK_CHUNKS: String(chunks), MOCK_INTERVAL_MS: String(intervalMs) })
const gateway = await startGateway(mock.port, 'warn', {
  ROLE: 'api',
  DATABASE_URL: STORES.databaseUrl,
  REDIS_URL: STORES.redisUrl,
  QUEUE_PREFIX,
  UPSTREAM_MAX_CONNECTIONS: String(Math.max(streams, 10_000)),
})
const pid = gateway.child.pid
log(`gateway pid ${pid} on :${gateway.port}, open-file limit ${JSON.stringify(fileLimits(pid))}; mock on :${mock.port}`)

if (warmup > 0) {
  await setMockInterval(mock.port, 0)
  const warm = await runClients(gateway.port, warmup, () => {})
  log(`warmup: ${warm.complete}/${warmup} complete`)
}
await setMockInterval(mock.port, intervalMs)
await Bun.sleep(2_000)
const idle = { rssKb: procStatus(pid, 'VmRSS'), openFiles: openFiles(pid) }
log(`idle: RSS ${(idle.rssKb / 1024).toFixed(1)} MB, ${idle.openFiles} descriptors`)

let peakOpen = 0
let allOpenUpstreamMs: number | null = null
let rssAtPeakKb = 0
let filesAtPeak = 0
let sampling = true
const started = performance.now()
const sampler = (async () => {
  while (sampling) {
    const [stats, rssKb, files] = await Promise.all([mockStats(mock.port), procStatus(pid, 'VmRSS'), openFiles(pid)])
    if (stats.open >= peakOpen) {
      peakOpen = stats.open
      rssAtPeakKb = Math.max(rssAtPeakKb, rssKb)
      filesAtPeak = Math.max(filesAtPeak, files)
    }
    if (allOpenUpstreamMs === null && stats.open >= streams) allOpenUpstreamMs = Math.round(performance.now() - started)
    await Bun.sleep(200)
  }
})()
let lastLog = 0
const summary = await runClients(gateway.port, streams, (line) => {
  if ((line.ms as number) - lastLog < 2_000) return
  lastLog = line.ms as number
  log(`${line.ms} ms: ${line.headers} answered, ${line.firstChunk} streaming, ${line.complete} complete; ${peakOpen} open upstream at most so far`)
})
sampling = false
await sampler
const upstreamStats = await mockStats(mock.port)
const after = { rssKb: procStatus(pid, 'VmRSS'), hwmKb: procStatus(pid, 'VmHWM'), openFiles: openFiles(pid) }
await stopChild(gateway.child)
await stopChild(mock.child)
await dropQueuedUsage()
killChildren()

const non200 = Object.entries(summary.statuses).filter(([status]) => status !== '200')
const report = {
  streams,
  chunks,
  intervalMs,
  served: { status200: summary.statuses['200'] ?? 0, complete: summary.complete, incomplete: summary.incomplete, otherStatuses: Object.fromEntries(non200), errors: summary.errors, samples: summary.errorSamples },
  peakOpenUpstream: upstreamStats.peak,
  secondsToOpenAllUpstream: allOpenUpstreamMs === null ? null : allOpenUpstreamMs / 1000,
  secondsToAllFirstChunks: summary.allFirstChunkMs === null ? null : summary.allFirstChunkMs / 1000,
  gateway: {
    idleRssMb: +(idle.rssKb / 1024).toFixed(1),
    rssAtPeakMb: +(rssAtPeakKb / 1024).toFixed(1),
    peakRssHwmMb: +(after.hwmKb / 1024).toFixed(1),
    rssPerOpenStreamKb: peakOpen > 0 ? +((rssAtPeakKb - idle.rssKb) / peakOpen).toFixed(1) : null,
    descriptorsIdle: idle.openFiles,
    descriptorsAtPeak: filesAtPeak,
    rssAfterMb: +(after.rssKb / 1024).toFixed(1),
  },
  fileLimit: limits,
  wallSeconds: +(summary.ms / 1000).toFixed(1),
}
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/capacity.json', `${JSON.stringify(report, null, 2)}\n`)
console.log(JSON.stringify(report, null, 2))
const ok = report.served.complete === streams && non200.length === 0 && Object.keys(summary.errors).length === 0
process.exit(ok ? 0 : 1)
