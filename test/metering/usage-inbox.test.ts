// The usage inbox against real Redis: the gateway's sink pushes micro-batches, the mover makes each one job, and a Redis that is down never reaches the request path.
import { afterAll, describe, expect, test } from 'bun:test'
import { Queue } from 'bullmq'
import Redis from 'ioredis'
import { createHotRedis, type HotRedis } from '../../src/lib/hot-redis'
import { createLogger, type Logger } from '../../src/lib/logger'
import { USAGE_QUEUE } from '../../src/lib/queues'
import { createUsageInboxSink, usageInboxKeys, type UsageInboxOptions } from '../../src/metering/usage-inbox'
import { USAGE_JOB_OPTIONS, type UsageJobData } from '../../src/metering/usage-queue'
import type { UsageRecord } from '../../src/metering/usage-record'
import { startUsageInboxMover } from '../../workers/usage/inbox-mover'
import { uniqueId } from '../helpers/db'
import { usageRecord, waitFor } from '../workers/usage-records'

const REDIS_URL = 'redis://127.0.0.1:6379'
const UNREACHABLE = 'redis://127.0.0.1:1'
const prefix = `{${uniqueId('mwtest-inbox')}}`
const keys = usageInboxKeys(prefix)

function capturingLogger(): { logger: Logger; lines: { level: string; msg: string; [k: string]: unknown }[] } {
  const lines: { level: string; msg: string }[] = []
  return { logger: createLogger('debug', (line) => lines.push(JSON.parse(line))), lines }
}

const redis = new Redis(REDIS_URL)
const inspector = new Queue<UsageJobData>(USAGE_QUEUE, { connection: { url: REDIS_URL }, prefix })
const quiet = createLogger('silent')
const mover = startUsageInboxMover({ redis: REDIS_URL, prefix, logger: quiet })

/** Every queued record (across jobs) with the job that carries it. */
async function queuedRecords(queue = inspector): Promise<{ record: UsageRecord; jobId: string | undefined; opts: object }[]> {
  const jobs = await queue.getJobs(['wait'], 0, -1)
  return jobs.flatMap((job) => job.data.records.map((record) => ({ record, jobId: job.id, opts: job.opts })))
}

async function withSink<T>(url: string, options: UsageInboxOptions & { logger?: Logger }, work: (sink: ReturnType<typeof createUsageInboxSink>, hot: HotRedis) => Promise<T>): Promise<T> {
  const hot = createHotRedis(url)
  await hot.ready.catch(() => {})
  const { logger = quiet, ...rest } = options
  const sink = createUsageInboxSink(hot, logger, { prefix, ...rest })
  try {
    return await work(sink, hot)
  } finally {
    await sink.close()
    hot.close()
  }
}

afterAll(async () => {
  await mover.close()
  await inspector.obliterate({ force: true })
  await inspector.close()
  await redis.del(...Object.values(keys))
  redis.disconnect()
})

describe('the usage inbox: sink and mover', () => {
  test('records gathered within the flush window become one job, with retries and no removal on failure', async () => {
    const accountId = uniqueId('acct')
    const records = [usageRecord({ accountId }), usageRecord({ accountId }), usageRecord({ accountId })]
    await withSink(REDIS_URL, {}, async (sink) => {
      for (const r of records) sink.record(r)
      expect(sink.pendingCount()).toBe(3)
      await sink.drain(10_000)
      expect(sink.pendingCount()).toBe(0)
    })
    await waitFor(async () => (await queuedRecords()).filter((q) => q.record.accountId === accountId).length === 3, 10_000, 'the job')
    const queued = (await queuedRecords()).filter((q) => q.record.accountId === accountId)
    expect(queued.map((q) => q.record)).toEqual(records)
    expect(new Set(queued.map((q) => q.jobId))).toEqual(new Set([`batch_${records[0]!.requestId}_3`]))
    expect(queued[0]!.opts).toMatchObject({ attempts: USAGE_JOB_OPTIONS.attempts, backoff: USAGE_JOB_OPTIONS.backoff, removeOnFail: false })
    await waitFor(async () => (await redis.llen(keys.moving)) === 0, 10_000, 'the moving list to empty')
  })

  test('a batch larger than maxBatch is split across jobs, none lost', async () => {
    const accountId = uniqueId('acct')
    const records = Array.from({ length: 35 }, () => usageRecord({ accountId }))
    await withSink(REDIS_URL, { maxBatch: 10 }, async (sink) => {
      for (const r of records) sink.record(r)
      await sink.drain(10_000)
    })
    await waitFor(async () => (await queuedRecords()).filter((q) => q.record.accountId === accountId).length === 35, 10_000, '35 records queued')
    const queued = (await queuedRecords()).filter((q) => q.record.accountId === accountId)
    expect(queued.map((q) => q.record.requestId).sort()).toEqual(records.map((r) => r.requestId).sort())
    expect(new Set(queued.map((q) => q.jobId)).size).toBe(4)
  })

  test('the same batch pushed twice (a retry after an unknown outcome) makes one job', async () => {
    const accountId = uniqueId('acct')
    const batch = [usageRecord({ accountId }), usageRecord({ accountId })]
    for (let attempt = 0; attempt < 2; attempt++) {
      await withSink(REDIS_URL, {}, async (sink) => {
        for (const r of batch) sink.record(r)
        await sink.drain(10_000)
      })
    }
    await waitFor(async () => (await redis.llen(keys.inbox)) + (await redis.llen(keys.moving)) === 0, 10_000, 'both pushes moved')
    const queued = (await queuedRecords()).filter((q) => q.record.accountId === accountId)
    expect(queued).toHaveLength(2)
  })

  test('with Redis unreachable, record() returns at once and keeps the records; drain and close do not hang', async () => {
    const { logger, lines } = capturingLogger()
    await withSink(UNREACHABLE, { logger, retryMinMs: 20, retryMaxMs: 100 }, async (sink) => {
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
    })
    expect(lines.some((l) => l.level === 'error' && l.msg.includes('closed with records still in memory') && l.lost === 100)).toBe(true)
  })

  test('beyond maxBuffered, records are dropped with an error log instead of growing memory', async () => {
    const { logger, lines } = capturingLogger()
    await withSink(UNREACHABLE, { logger, maxBuffered: 10 }, async (sink) => {
      for (let i = 0; i < 15; i++) sink.record(usageRecord())
      expect(sink.pendingCount()).toBe(10)
      expect(lines.some((l) => l.level === 'error' && l.msg.includes('dropped'))).toBe(true)
    })
  })

  test('a record with an id a job cannot be named after is refused alone, without blocking the others', async () => {
    const { logger, lines } = capturingLogger()
    const good = usageRecord()
    await withSink(REDIS_URL, { logger }, async (sink) => {
      sink.record(usageRecord({ requestId: 'bad:id' }))
      sink.record(good)
      await sink.drain(10_000)
      expect(sink.pendingCount()).toBe(0)
    })
    await waitFor(async () => (await queuedRecords()).some((q) => q.record.requestId === good.requestId), 10_000, 'the good record queued')
    expect(lines.some((l) => l.level === 'error' && l.requestId === 'bad:id')).toBe(true)
  })

  test('records held while Redis was down are delivered once it is up', async () => {
    const port = await freePort()
    const url = `redis://127.0.0.1:${port}`
    const { logger, lines } = capturingLogger()
    const records = Array.from({ length: 20 }, () => usageRecord())
    await withSink(url, { logger, retryMinMs: 20, retryMaxMs: 200 }, async (sink) => {
      for (const r of records) sink.record(r)
      await waitFor(() => lines.some((l) => l.msg.includes('kept in memory')), 10_000, 'a failed attempt')
      expect(sink.pendingCount()).toBe(20)

      const server = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'ignore' })
      const otherMover = startUsageInboxMover({ redis: url, prefix, logger: quiet })
      const checker = new Queue<UsageJobData>(USAGE_QUEUE, { connection: { url }, prefix })
      try {
        await waitFor(() => sink.pendingCount() === 0, 20_000, 'the held records to be sent')
        await waitFor(async () => (await queuedRecords(checker)).length === 20, 20_000, 'the records to become a job')
        const ids = (await queuedRecords(checker)).map((q) => q.record.requestId).sort()
        expect(ids).toEqual(records.map((r) => r.requestId).sort())
      } finally {
        await otherMover.close()
        await checker.close()
        server.kill()
        await server.exited
      }
    })
  })

  test('a batch left on the moving list by a mover that died is made a job by another, once', async () => {
    const other = `{${uniqueId('mwtest-stuck')}}`
    const otherKeys = usageInboxKeys(other)
    const accountId = uniqueId('acct')
    const records = [usageRecord({ accountId }), usageRecord({ accountId })]
    // As a mover leaves it when killed between its BLMOVE and its job: the batch on the moving list, no job.
    await redis.rpush(otherKeys.moving, JSON.stringify({ records }))
    const queue = new Queue<UsageJobData>(USAGE_QUEUE, { connection: { url: REDIS_URL }, prefix: other })
    const survivor = startUsageInboxMover({ redis: REDIS_URL, prefix: other, logger: quiet, stuckAfterMs: 200 })
    try {
      await waitFor(async () => (await queuedRecords(queue)).length === 2, 10_000, 'the stuck batch to become a job')
      await waitFor(async () => (await redis.llen(otherKeys.moving)) === 0, 10_000, 'the moving list to empty')
      // A second copy of the same batch (pushed again by a gateway's retry) adds no second job.
      await redis.rpush(otherKeys.inbox, JSON.stringify({ records }))
      await waitFor(async () => (await redis.llen(otherKeys.inbox)) + (await redis.llen(otherKeys.moving)) === 0, 10_000, 'the copy moved')
      expect((await queuedRecords(queue)).map((q) => q.record.requestId).sort()).toEqual(records.map((r) => r.requestId).sort())
    } finally {
      await survivor.close()
      await queue.obliterate({ force: true })
      await queue.close()
      await redis.del(...Object.values(otherKeys))
    }
  })

  test('what is not a batch goes to the rejected list and the batches behind it still move', async () => {
    const other = `{${uniqueId('mwtest-reject')}}`
    const otherKeys = usageInboxKeys(other)
    const good = usageRecord()
    await redis.rpush(otherKeys.inbox, 'not json', JSON.stringify({ records: [{ ...good, requestId: '12345' }] }), JSON.stringify({ records: [good] }))
    const { logger, lines } = capturingLogger()
    const queue = new Queue<UsageJobData>(USAGE_QUEUE, { connection: { url: REDIS_URL }, prefix: other })
    const reader = startUsageInboxMover({ redis: REDIS_URL, prefix: other, logger })
    try {
      await waitFor(async () => (await queuedRecords(queue)).length === 1, 10_000, 'the good batch to become a job')
      expect((await queuedRecords(queue))[0]!.record.requestId).toBe(good.requestId)
      expect(await redis.lrange(otherKeys.rejected, 0, -1)).toEqual(['not json', JSON.stringify({ records: [{ ...good, requestId: '12345' }] })])
      expect(await redis.llen(otherKeys.moving)).toBe(0)
      expect(lines.filter((l) => l.level === 'error' && l.msg.includes('rejected list'))).toHaveLength(2)
    } finally {
      await reader.close()
      await queue.obliterate({ force: true })
      await queue.close()
      await redis.del(...Object.values(otherKeys))
    }
  })

  test('a mover stops at once while it waits for a batch (its BLMOVE in flight)', async () => {
    const waiting = startUsageInboxMover({ redis: REDIS_URL, prefix: `{${uniqueId('mwtest-idle')}}`, logger: quiet, blockSeconds: 30 })
    const started = performance.now()
    await waiting.close()
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})

/** A port nobody listens on right now (taken and released at once). */
async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}
