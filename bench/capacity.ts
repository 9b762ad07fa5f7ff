// Capacity bench (`bun run bench:capacity`): N slow streams at once through the gateway, all open upstream together, all complete.
import { writeFileSync, mkdirSync } from 'node:fs'
import { parseArgs } from 'node:util'
import Redis from 'ioredis'
import { measureOpenStreams, streamsThatFit } from './lib-open-streams'
import { fileLimits, installCleanup, killChildren, startGateway, startMock, stopChild } from './lib-proc'
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
log(`open-file limit here: soft ${limits.soft}, hard ${limits.hard} (Bun raises its soft limit to the hard one; children inherit it)`)
// Asked for more than fit, it runs them anyway: this bench is where the limit itself is found.
if (streams > streamsThatFit(limits.hard)) {
  log(`each stream holds two descriptors in the gateway; the hard limit is ${limits.hard}, so about ${streamsThatFit(limits.hard)} fit. Streams past that get 503 gateway_capacity_exhausted (EMFILE) or are not accepted.`)
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

const m = await measureOpenStreams({ pid, port: gateway.port, upstreamPort: mock.port, key: KEY, streams, chunks, intervalMs, warmup, log })
const { summary, idle, after } = m
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
  peakOpenUpstream: m.upstream.peak,
  secondsToOpenAllUpstream: m.allOpenUpstreamMs === null ? null : m.allOpenUpstreamMs / 1000,
  secondsToAllFirstChunks: summary.allFirstChunkMs === null ? null : summary.allFirstChunkMs / 1000,
  gateway: {
    idleRssMb: +(idle.rssKb / 1024).toFixed(1),
    rssAtPeakMb: +(m.rssAtPeakKb / 1024).toFixed(1),
    peakRssHwmMb: +(after.hwmKb / 1024).toFixed(1),
    rssPerOpenStreamKb: m.rssPerOpenStreamKb === null ? null : +m.rssPerOpenStreamKb.toFixed(1),
    descriptorsIdle: idle.openFiles,
    descriptorsAtPeak: m.filesAtPeak,
    rssAfterMb: +(after.rssKb / 1024).toFixed(1),
  },
  fileLimit: limits,
  wallSeconds: +(summary.ms / 1000).toFixed(1),
}
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/capacity.json', `${JSON.stringify(report, null, 2)}\n`)
console.log(JSON.stringify(report, null, 2))
process.exit(m.ok ? 0 : 1)
