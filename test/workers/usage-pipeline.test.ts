// The usage pipeline end to end on real Redis and Postgres: sink → inbox → mover → queue → worker → usage_events, also across a SIGKILLed worker.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { loadConfig } from '../../src/config'
import type { Sql } from '../../src/lib/db'
import { createLogger } from '../../src/lib/logger'
import { USAGE_QUEUE } from '../../src/lib/queues'
import { createHotRedis } from '../../src/lib/hot-redis'
import { createUsageInboxSink } from '../../src/metering/usage-inbox'
import type { UsageRecord } from '../../src/metering/usage-record'
import { startWorkers } from '../../workers'
import { TEST_DATABASE_URL, testDb, uniqueId } from '../helpers/db'
import { usageRecord, waitFor } from './usage-records'

const REDIS_URL = 'redis://127.0.0.1:6379'
const ROOT = join(import.meta.dir, '..', '..')
const logger = createLogger('warn', (line) => process.stderr.write(line))

let sql: Sql
beforeAll(async () => {
  sql = await testDb()
})
afterAll(async () => {
  await sql.end()
})

async function rowCounts(accountId: string): Promise<{ rows: number; distinct: number }> {
  const [row] = await sql<{ rows: number; distinct: number }[]>`
    SELECT count(*)::int AS rows, count(DISTINCT request_id)::int AS distinct
    FROM usage_events WHERE account_id = ${accountId}`
  return row!
}

/** Jobs not yet finished: waiting, delayed (retry backoff) or held by a worker. */
async function unfinished(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'waiting-children')
  return Object.values(counts).reduce((a, b) => a + b, 0)
}

async function enqueue(prefix: string, records: UsageRecord[]): Promise<void> {
  const hot = createHotRedis(REDIS_URL)
  await hot.ready
  const sink = createUsageInboxSink(hot, logger, { prefix })
  for (const r of records) sink.record(r)
  await sink.drain(30_000)
  expect(sink.pendingCount()).toBe(0)
  await sink.close()
  hot.close()
}

describe('usage pipeline', () => {
  test('2,000 records through the sink and the worker become exactly 2,000 rows', async () => {
    const prefix = `{${uniqueId('mwtest-pipe')}}`
    const accountId = uniqueId('acct')
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, REDIS_URL, USAGE_BATCH_SIZE: '200', USAGE_FLUSH_MS: '50' })
    const workers = await startWorkers({ config, sql, logger }, { prefix })
    const queue = new Queue(USAGE_QUEUE, { connection: { url: REDIS_URL }, prefix })
    try {
      const records = Array.from({ length: 2_000 }, (_, i) => usageRecord({ accountId, costNano: i }))
      await enqueue(prefix, records)
      await waitFor(async () => (await rowCounts(accountId)).rows === 2_000, 30_000, '2,000 rows')
      await waitFor(async () => (await unfinished(queue)) === 0, 30_000, 'the queue to drain')
      expect(await rowCounts(accountId)).toEqual({ rows: 2_000, distinct: 2_000 })
      expect(await queue.getJobCountByTypes('failed')).toBe(0)
      const [sum] = await sql<{ total: string }[]>`SELECT sum(cost_nano)::text AS total FROM usage_events WHERE account_id = ${accountId}`
      expect(sum?.total).toBe(String((1_999 * 2_000) / 2))
    } finally {
      await workers.close()
      await queue.obliterate({ force: true })
      await queue.close()
    }
  })

  test('jobs of the older one-record-per-job format are still written', async () => {
    const prefix = `{${uniqueId('mwtest-legacy')}}`
    const accountId = uniqueId('acct')
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, REDIS_URL, USAGE_BATCH_SIZE: '100', USAGE_FLUSH_MS: '20' })
    const workers = await startWorkers({ config, sql, logger: createLogger('silent') }, { prefix })
    const queue = new Queue(USAGE_QUEUE, { connection: { url: REDIS_URL }, prefix })
    try {
      const records = Array.from({ length: 5 }, () => usageRecord({ accountId }))
      await queue.addBulk(records.map((data) => ({ name: 'record', data, opts: { jobId: data.requestId } })))
      await waitFor(async () => (await rowCounts(accountId)).rows === 5, 30_000, '5 rows')
    } finally {
      await workers.close()
      await queue.obliterate({ force: true })
      await queue.close()
    }
  })

  test('a record Postgres refuses fails alone: the rest of its batch is written, its job waits for a retry', async () => {
    const prefix = `{${uniqueId('mwtest-poison')}}`
    const accountId = uniqueId('acct')
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, REDIS_URL, USAGE_BATCH_SIZE: '100', USAGE_FLUSH_MS: '50' })
    const quiet = createLogger('silent')
    const workers = await startWorkers({ config, sql, logger: quiet }, { prefix })
    const queue = new Queue(USAGE_QUEUE, { connection: { url: REDIS_URL }, prefix })
    try {
      const records = Array.from({ length: 50 }, (_, i) => usageRecord({ accountId, costNano: i === 17 ? -1 : 5 }))
      await enqueue(prefix, records)
      await waitFor(async () => (await rowCounts(accountId)).rows === 49, 30_000, '49 rows')
      const bad = records[17]!.requestId
      const carriesBad = (job: { data: { records?: UsageRecord[] } }) => job.data.records?.some((r) => r.requestId === bad) === true
      await waitFor(async () => (await queue.getJobs(['delayed'], 0, -1)).some(carriesBad), 30_000, 'the bad job to wait for its retry')
      const job = (await queue.getJobs(['delayed'], 0, -1)).find(carriesBad)
      expect(job?.attemptsMade).toBeGreaterThanOrEqual(1)
      expect(job?.failedReason).toContain('check constraint')
      // Retrying the job rewrites nothing: the 49 good rows stay 49, the bad one still fails.
      expect((await rowCounts(accountId)).rows).toBe(49)
    } finally {
      await workers.close()
      await queue.obliterate({ force: true })
      await queue.close()
    }
  })

  test('a worker SIGKILLed mid-run loses nothing and doubles nothing once another takes over', async () => {
    const prefix = `{${uniqueId('mwtest-crash')}}`
    const accountId = uniqueId('acct')
    const queue = new Queue(USAGE_QUEUE, { connection: { url: REDIS_URL }, prefix })
    const spawnWorker = () => spawnWorkerProcess(prefix)
    try {
      await enqueue(prefix, Array.from({ length: 2_000 }, () => usageRecord({ accountId })))

      const first = await spawnWorker()
      let atKill = 0
      const deadline = performance.now() + 60_000
      while ((atKill = (await rowCounts(accountId)).rows) < 1_000) {
        if (performance.now() > deadline) throw new Error('the first worker never reached 1,000 rows')
      }
      first.kill('SIGKILL')
      await first.exited
      // The crash must have happened mid-run, with work left for the second worker.
      expect(atKill).toBeLessThan(2_000)

      const second = await spawnWorker()
      await waitFor(async () => (await rowCounts(accountId)).rows === 2_000 && (await unfinished(queue)) === 0, 90_000, 'the second worker to finish')
      expect(await rowCounts(accountId)).toEqual({ rows: 2_000, distinct: 2_000 })
      expect(await queue.getJobCountByTypes('failed')).toBe(0)

      second.kill('SIGTERM')
      expect(await second.exited).toBe(0)
    } finally {
      await queue.obliterate({ force: true })
      await queue.close()
    }
  }, 180_000)
})

/** Starts test/workers/usage-worker-process.ts and resolves once its workers are up. Short lock and stall timings so a killed worker's jobs come back in seconds. */
async function spawnWorkerProcess(prefix: string) {
  const child = Bun.spawn(
    [process.execPath, 'test/workers/usage-worker-process.ts', '--prefix', prefix, '--lock-ms', '2000', '--stalled-ms', '1000'],
    {
      cwd: ROOT,
      env: { DATABASE_URL: TEST_DATABASE_URL, REDIS_URL, USAGE_BATCH_SIZE: '100', USAGE_FLUSH_MS: '50', LOG_LEVEL: 'warn' },
      stdout: 'pipe',
      stderr: 'inherit',
    },
  )
  const reader = child.stdout.getReader()
  let seen = ''
  while (!seen.includes('ready')) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`worker process exited before it was ready (exit ${await child.exited})`)
    seen += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  return child
}
