// Wiring of the usage worker: BullMQ jobs of queue `usage` → UsageBatcher → insertUsageEvents; a job completes after its commit.
import { Worker } from 'bullmq'
import { logWorkerErrors } from '../lib/worker-errors'
import { insertUsageEvents } from '../../src/db/queries/usage'
import type { Sql } from '../../src/lib/db'
import type { Logger } from '../../src/lib/logger'
import { createProducerConnection, createWorkerConnection, QUEUE_PREFIX, USAGE_QUEUE } from '../../src/lib/queues'
import type { RedisTarget } from '../../src/lib/redis'
import type { UsageJobData } from '../../src/metering/usage-queue'
import type { UsageRecord } from '../../src/metering/usage-record'
import { UsageBatcher } from './processor'
import { markPosted } from './unposted'
import { registerScripts } from '../../src/limits/scripts'
import { isRecordError } from '../lib/record-error'

export interface UsageWorkerOptions {
  redis: RedisTarget | string
  sql: Sql
  logger: Logger
  batchSize: number
  flushMs: number
  /** BullMQ key prefix; must match the producer's. */
  prefix?: string
  /** How long a job's lock lasts without renewal: after a crash its jobs are retried once it has expired. */
  lockDurationMs?: number
  /** How often this worker looks for jobs whose worker died. */
  stalledIntervalMs?: number
  /** Runs after a batch committed (e.g. low-balance webhooks); its failure is logged, never fails the batch. */
  afterCommit?: (records: readonly UsageRecord[]) => Promise<void>
}

/** A job carries a micro-batch (`records`); a bare record is the older one-job-per-record format, still accepted. */
type UsageJobPayload = UsageJobData | UsageRecord

const recordsOf = (data: UsageJobPayload): UsageRecord[] => ('records' in data ? data.records : [data])

/** Enough jobs in flight for a full insert batch to gather while the previous one commits. */
const JOB_CONCURRENCY = 16

export interface UsageWorker {
  worker: Worker<UsageJobPayload>
  close(): Promise<void>
}

export function startUsageWorker(o: UsageWorkerOptions): UsageWorker {
  const { logger } = o
  // For the post-commit cleanup of settled costs; fails fast when Redis is down (the batch is then retried).
  const redis = createProducerConnection(o.redis)
  // Its failures surface as failed batches (logged there); without a listener ioredis would print each reconnect.
  redis.on('error', () => {})
  const run = registerScripts(redis)
  const batcher = new UsageBatcher({
    batchSize: o.batchSize,
    flushMs: o.flushMs,
    insert: async (records) => {
      const inserted = await insertUsageEvents(o.sql, records)
      await markPosted({ run, redis, sql: o.sql, queuePrefix: o.prefix ?? QUEUE_PREFIX }, records, inserted === records.length)
      if (o.afterCommit) {
        await o.afterCommit(records).catch((error: Error) => logger.error('after-commit step failed', { records: records.length, error: error.message }))
      }
      return inserted
    },
    isRecordError,
    onBatch: ({ records, inserted, ms, error }) => {
      if (error) logger.warn('usage batch not written; its jobs will be retried', { records, error: String(error) })
      else logger.debug('usage batch written', { records, inserted, ms: Math.round(ms) })
    },
  })

  const connection = createWorkerConnection(o.redis)
  connection.on('error', () => {})
  // A job completes only when every one of its records is committed (each resolves with its batch).
  const worker = new Worker<UsageJobPayload>(USAGE_QUEUE, (job) => Promise.all(recordsOf(job.data).map((record) => batcher.add(record))), {
    connection,
    prefix: o.prefix ?? QUEUE_PREFIX,
    concurrency: JOB_CONCURRENCY,
    // Jobs are idempotent (one row per request id), so a job may survive several worker crashes.
    maxStalledCount: 10,
    // For jobs added without the producer's options: a committed record needs nothing kept in Redis.
    removeOnComplete: { count: 0 },
    ...(o.lockDurationMs ? { lockDuration: o.lockDurationMs } : {}),
    ...(o.stalledIntervalMs ? { stalledInterval: o.stalledIntervalMs } : {}),
  })

  logWorkerErrors(worker, 'usage', logger)
  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      logger.error('usage job failed for good; left in the failed set', { jobId: job.id, records: recordsOf(job.data).length, attempts: job.attemptsMade, error: error.message })
    }
  })

  return {
    worker,
    async close() {
      // worker.close() waits for active jobs, and they wait for their batch: send it now rather than after flushMs.
      const closing = worker.close()
      await batcher.flush()
      await closing
      await batcher.flush()
      await redis.quit().catch(() => redis.disconnect())
      await connection.quit().catch(() => connection.disconnect())
    },
  }
}
