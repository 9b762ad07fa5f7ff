// The usage queue sink against real Redis: records travel in micro-batch jobs, and a Redis that is down never reaches the request path.
import { afterAll, describe, expect, test } from 'bun:test'
import { Queue } from 'bullmq'
import { createLogger, type Logger } from '../../src/lib/logger'
import { USAGE_QUEUE } from '../../src/lib/queues'
import { createUsageQueueSink, USAGE_JOB_OPTIONS, type UsageJobData } from '../../src/metering/usage-queue'
import type { UsageRecord } from '../../src/metering/usage-record'
import { uniqueId } from '../helpers/db'
import { usageRecord, waitFor } from '../workers/usage-records'

const REDIS_URL = 'redis://127.0.0.1:6379'
const UNREACHABLE = 'redis://127.0.0.1:1'
const prefix = `{${uniqueId('mwtest-sink')}}`

function capturingLogger(): { logger: Logger; lines: { level: string; msg: string; [k: string]: unknown }[] } {
  const lines: { level: string; msg: string }[] = []
  return { logger: createLogger('debug', (line) => lines.push(JSON.parse(line))), lines }
}

const inspector = new Queue<UsageJobData>(USAGE_QUEUE, { connection: { url: REDIS_URL }, prefix })

/** Every queued record (across jobs) with the job that carries it. */
async function queuedRecords(queue = inspector): Promise<{ record: UsageRecord; jobId: string | undefined; opts: object }[]> {
  const jobs = await queue.getJobs(['wait'], 0, -1)
  return jobs.flatMap((job) => job.data.records.map((record) => ({ record, jobId: job.id, opts: job.opts })))
}
afterAll(async () => {
  await inspector.obliterate({ force: true })
  await inspector.close()
})

describe('createUsageQueueSink', () => {
  test('records gathered within the flush window travel together in one job, with retries and no removal on failure', async () => {
    const { logger } = capturingLogger()
    const sink = createUsageQueueSink(REDIS_URL, logger, { prefix })
    const accountId = uniqueId('acct')
    const records = [usageRecord({ accountId }), usageRecord({ accountId }), usageRecord({ accountId })]
    for (const r of records) sink.record(r)
    expect(sink.pendingCount()).toBe(3)
    await sink.drain(10_000)
    expect(sink.pendingCount()).toBe(0)
    const queued = (await queuedRecords()).filter((q) => q.record.accountId === accountId)
    expect(queued.map((q) => q.record)).toEqual(records)
    expect(new Set(queued.map((q) => q.jobId)).size).toBe(1)
    expect(queued[0]!.opts).toMatchObject({ attempts: USAGE_JOB_OPTIONS.attempts, backoff: USAGE_JOB_OPTIONS.backoff, removeOnFail: false })
    await sink.close()
  })

  test('a batch larger than maxBatch is split across jobs, none lost', async () => {
    const { logger } = capturingLogger()
    const sink = createUsageQueueSink(REDIS_URL, logger, { prefix, maxBatch: 10 })
    const accountId = uniqueId('acct')
    const records = Array.from({ length: 35 }, () => usageRecord({ accountId }))
    for (const r of records) sink.record(r)
    await sink.drain(10_000)
    const queued = (await queuedRecords()).filter((q) => q.record.accountId === accountId)
    expect(queued.map((q) => q.record.requestId).sort()).toEqual(records.map((r) => r.requestId).sort())
    expect(new Set(queued.map((q) => q.jobId)).size).toBe(4)
    await sink.close()
  })

  test('re-sending the same batch (a retry after an unknown outcome) adds no second job', async () => {
    const { logger } = capturingLogger()
    const accountId = uniqueId('acct')
    const batch = [usageRecord({ accountId }), usageRecord({ accountId })]
    for (let attempt = 0; attempt < 2; attempt++) {
      const sink = createUsageQueueSink(REDIS_URL, logger, { prefix })
      for (const r of batch) sink.record(r)
      await sink.drain(10_000)
      await sink.close()
    }
    const queued = (await queuedRecords()).filter((q) => q.record.accountId === accountId)
    expect(queued).toHaveLength(2)
  })

  test('with Redis unreachable, record() returns at once and keeps the records; drain and close do not hang', async () => {
    const { logger, lines } = capturingLogger()
    const sink = createUsageQueueSink(UNREACHABLE, logger, { prefix, retryMinMs: 20, retryMaxMs: 100, sendTimeoutMs: 100 })
    for (let i = 0; i < 50; i++) expect(() => sink.record(usageRecord())).not.toThrow()
    expect(sink.pendingCount()).toBe(50)
    await waitFor(() => lines.some((l) => l.msg.includes('kept in memory')), 10_000, 'the retry warning')
    for (let i = 0; i < 50; i++) sink.record(usageRecord())
    expect(sink.pendingCount()).toBe(100)
    const warning = lines.find((l) => l.level === 'warn' && l.msg.includes('kept in memory'))
    expect(warning?.pending).toBeGreaterThanOrEqual(50)
    await sink.drain(200)
    expect(sink.pendingCount()).toBe(100)
    expect(lines.some((l) => l.level === 'error' && l.msg.includes('drain deadline'))).toBe(true)
    await sink.close()
  })

  test('beyond maxBuffered, records are dropped with an error log instead of growing memory', async () => {
    const { logger, lines } = capturingLogger()
    const sink = createUsageQueueSink(UNREACHABLE, logger, { prefix, maxBuffered: 10 })
    for (let i = 0; i < 15; i++) sink.record(usageRecord())
    expect(sink.pendingCount()).toBe(10)
    expect(lines.some((l) => l.level === 'error' && l.msg.includes('dropped'))).toBe(true)
    await sink.close()
  })

  test('a record with an id BullMQ cannot use is refused alone, without blocking the others', async () => {
    const { logger, lines } = capturingLogger()
    const sink = createUsageQueueSink(REDIS_URL, logger, { prefix })
    const good = usageRecord()
    sink.record(usageRecord({ requestId: 'bad:id' }))
    sink.record(good)
    await sink.drain(10_000)
    expect(sink.pendingCount()).toBe(0)
    expect((await queuedRecords()).some((q) => q.record.requestId === good.requestId)).toBe(true)
    expect(lines.some((l) => l.level === 'error' && l.requestId === 'bad:id')).toBe(true)
    await sink.close()
  })

  test('records held while Redis was down are delivered once it is up', async () => {
    const port = await freePort()
    const url = `redis://127.0.0.1:${port}`
    const { logger, lines } = capturingLogger()
    const sink = createUsageQueueSink(url, logger, { prefix, retryMinMs: 20, retryMaxMs: 200, sendTimeoutMs: 100 })
    const records = Array.from({ length: 20 }, () => usageRecord())
    for (const r of records) sink.record(r)
    await waitFor(() => lines.some((l) => l.msg.includes('kept in memory')), 10_000, 'a failed attempt')
    expect(sink.pendingCount()).toBe(20)

    const redis = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'ignore' })
    try {
      await waitFor(() => sink.pendingCount() === 0, 20_000, 'the held records to be sent')
      const checker = new Queue<UsageJobData>(USAGE_QUEUE, { connection: { url }, prefix })
      const ids = (await queuedRecords(checker)).map((q) => q.record.requestId).sort()
      await checker.close()
      expect(ids).toEqual(records.map((r) => r.requestId).sort())
    } finally {
      await sink.close()
      redis.kill()
      await redis.exited
    }
  })
})

/** A port nobody listens on right now (taken and released at once). */
async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}
