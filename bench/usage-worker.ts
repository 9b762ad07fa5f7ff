// Bench of the usage pipeline: N synthetic records through the gateway's sink into Redis, then the workers (inbox mover and usage worker) commit them to Postgres; prints records/s.
//
//   bun bench/usage-worker.ts [--records 50000] [--batch-size 500] [--flush-ms 200]
//
// Uses DATABASE_URL / REDIS_URL like the gateway (migrating the database as boot does), its own BullMQ prefix, and a
// unique account id whose rows it deletes at the end. Phase 1 (enqueue) and phase 2 (worker) run one after the other
// so each figure is that stage alone; the worker runs in this process, as it does with ROLE=all.
import { parseArgs } from 'node:util'
import { Queue } from 'bullmq'
import Redis from 'ioredis'
import { loadConfig } from '../src/config'
import { migrate } from '../src/db/migrate'
import { createDb } from '../src/lib/db'
import { createLogger } from '../src/lib/logger'
import { USAGE_QUEUE } from '../src/lib/queues'
import { createHotRedis } from '../src/lib/hot-redis'
import { createUsageInboxSink, usageInboxKeys } from '../src/metering/usage-inbox'
import { USAGE_JOB_NAME, USAGE_JOB_OPTIONS } from '../src/metering/usage-queue'
import type { UsageRecord } from '../src/metering/usage-record'
import { startWorkers } from '../workers'

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { records: { type: 'string', default: '50000' }, 'batch-size': { type: 'string' }, 'flush-ms': { type: 'string' } },
})
const base = loadConfig()
const config = {
  ...base,
  usage: {
    ...base.usage,
    batchSize: Number(values['batch-size'] ?? base.usage.batchSize),
    flushMs: Number(values['flush-ms'] ?? base.usage.flushMs),
  },
}
const total = Number(values.records)
const runId = crypto.randomUUID().slice(0, 8)
const prefix = `{mwbench-${runId}}`
const accountId = `acct_bench_${runId}`
const logger = createLogger('warn', (line) => process.stderr.write(line))
const sql = createDb(config.databaseUrl)
await migrate(sql)
const queue = new Queue(USAGE_QUEUE, { connection: { url: config.redisUrl }, prefix })
const inspect = new Redis(config.redisUrl)

function record(i: number): UsageRecord {
  return {
    requestId: `req_${runId}_${i}`, keyId: 'key_bench', accountId, model: 'openai/gpt-4o-mini', provider: 'openai',
    upstreamModel: 'gpt-4o-mini', stream: true, status: 'ok', httpStatus: 200, inputTokens: 1_200, outputTokens: 350,
    cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, costNano: 390_000, overHoldNano: 0, catalogVersion: 'bench-1', moneyMode: 'none', subject: accountId,
    source: 'both', countedInputTokens: 1_201, countedOutputTokens: 350, inputTokensDiff: -1, outputTokensDiff: 0,
    ttfbMs: 210.5, totalMs: 3_400.25, startedAt: new Date().toISOString(), errorCode: null,
  }
}

const rows = async () => (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM usage_events WHERE account_id = ${accountId}`)[0]!.n
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1_000
}

try {
  console.log(`usage pipeline bench: ${total.toLocaleString()} records, batch ${config.usage.batchSize}, flush ${config.usage.flushMs} ms`)

  // Phase 0: the unbatched alternative, one awaited queue.add per record (a separate prefix, removed at once).
  const single = new Queue<UsageRecord>(USAGE_QUEUE, { connection: { url: config.redisUrl }, prefix: `{mwbench-single-${runId}}`, defaultJobOptions: USAGE_JOB_OPTIONS })
  await single.waitUntilReady()
  const singles = Math.min(5_000, total)
  let cpu = process.cpuUsage()
  for (let i = 0; i < singles; i++) {
    const r = record(i)
    await single.add(USAGE_JOB_NAME, r, { jobId: r.requestId })
  }
  console.log(`baseline, one queue.add per record: ${((cpuMs(cpu) * 1_000) / singles).toFixed(1)} µs CPU/record`)
  await single.obliterate({ force: true })
  await single.close()

  // Phase 1: the gateway side. record() in bursts of 100 per tick, like finishing requests, then drain.
  const hot = createHotRedis(config.redisUrl)
  await hot.ready
  const sink = createUsageInboxSink(hot, logger, { prefix })
  cpu = process.cpuUsage()
  let t0 = performance.now()
  for (let i = 0; i < total; i++) {
    sink.record(record(i))
    if (i % 100 === 99) await Bun.sleep(0)
  }
  await sink.drain(120_000)
  const enqueueS = (performance.now() - t0) / 1_000
  const enqueueCpu = cpuMs(cpu)
  await sink.close()
  hot.close()
  const queued = await inspect.llen(usageInboxKeys(prefix).inbox)
  console.log(`enqueue through the sink (one RPUSH per micro-batch): ${Math.round(total / enqueueS).toLocaleString()} records/s, ${((enqueueCpu * 1_000) / total).toFixed(1)} µs CPU/record (${queued.toLocaleString()} batches waiting)`)

  // Phase 2: the workers (the inbox mover makes the batches jobs; the usage worker writes them), from start to the last commit.
  cpu = process.cpuUsage()
  t0 = performance.now()
  const workers = await startWorkers({ config, sql, logger }, { prefix })
  let firstRowAt = 0
  let committed = 0
  const deadline = t0 + 600_000
  while ((committed = await rows()) < total) {
    if (committed > 0 && firstRowAt === 0) firstRowAt = performance.now()
    if (performance.now() > deadline) throw new Error(`only ${committed} of ${total} rows after 10 minutes`)
    await Bun.sleep(25)
  }
  const doneAt = performance.now()
  const workerCpu = cpuMs(cpu)
  await workers.close()
  const failed = await queue.getFailedCount()
  const fromStart = total / ((doneAt - t0) / 1_000)
  const steady = firstRowAt ? total / ((doneAt - firstRowAt) / 1_000) : fromStart
  console.log(`worker: ${Math.round(fromStart).toLocaleString()} records/s committed to Postgres (from worker start; ${Math.round(steady).toLocaleString()}/s from the first commit), ${((workerCpu * 1_000) / total).toFixed(1)} µs CPU/record in the worker process, ${failed} failed jobs`)
} finally {
  const deleted = await sql`DELETE FROM usage_events WHERE account_id = ${accountId}`
  await queue.obliterate({ force: true }).catch(() => {})
  await inspect.del(...Object.values(usageInboxKeys(prefix))).catch(() => {})
  await queue.close()
  inspect.disconnect()
  await sql.end({ timeout: 5 })
  console.log(`cleaned up: ${deleted.count.toLocaleString()} rows deleted, queue ${prefix} removed`)
}
