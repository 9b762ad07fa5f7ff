// The usage queue sink against real Redis: jobId = requestId, dedupe, and a Redis that is down never reaches the request path.
import { afterAll, describe, expect, test } from 'bun:test'
import { Queue } from 'bullmq'
import { createLogger, type Logger } from '../../src/lib/logger'
import { USAGE_QUEUE } from '../../src/lib/queues'
import { createUsageQueueSink, USAGE_JOB_OPTIONS } from '../../src/metering/usage-queue'
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

const inspector = new Queue<UsageRecord>(USAGE_QUEUE, { connection: { url: REDIS_URL }, prefix })
afterAll(async () => {
  await inspector.obliterate({ force: true })
  await inspector.close()
})

describe('createUsageQueueSink', () => {
  test('each record becomes a job whose id is its request id, with retries and no removal on failure', async () => {
    const { logger } = capturingLogger()
    const sink = createUsageQueueSink(REDIS_URL, logger, { prefix })
    const records = [usageRecord(), usageRecord(), usageRecord()]
    for (const r of records) sink.record(r)
    expect(sink.pendingCount()).toBe(3)
    await sink.drain(10_000)
    expect(sink.pendingCount()).toBe(0)
    for (const r of records) {
      const job = await inspector.getJob(r.requestId)
      expect(job?.id).toBe(r.requestId)
      expect(job?.data).toEqual(r)
      expect(job?.opts).toMatchObject({ attempts: USAGE_JOB_OPTIONS.attempts, backoff: USAGE_JOB_OPTIONS.backoff, removeOnFail: false })
    }
    await sink.close()
  })

  test('the same request id recorded twice (in one batch or two) yields one job', async () => {
    const { logger } = capturingLogger()
    const sink = createUsageQueueSink(REDIS_URL, logger, { prefix })
    const accountId = uniqueId('acct')
    const r = usageRecord({ accountId })
    sink.record(r)
    sink.record({ ...r })
    await sink.drain(10_000)
    sink.record({ ...r })
    await sink.drain(10_000)
    const waiting = await inspector.getJobs(['wait'], 0, -1)
    expect(waiting.filter((job) => job.data.accountId === accountId).map((job) => job.id)).toEqual([r.requestId])
    await sink.close()
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
    expect((await inspector.getJob(good.requestId))?.id).toBe(good.requestId)
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
      const checker = new Queue<UsageRecord>(USAGE_QUEUE, { connection: { url }, prefix })
      const ids = (await checker.getJobs(['wait'], 0, -1)).map((job) => job.id).sort()
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
