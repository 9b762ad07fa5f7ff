// The gateway's usage sink: micro-batches usage records into the BullMQ `usage` queue and holds them through Redis outages.
import type { JobsOptions } from 'bullmq'
import { USAGE_QUEUE } from '../lib/queues'
import { createQueueSink, type QueueSink, type QueueSinkOptions } from '../lib/queue-sink'
import type { Logger } from '../lib/logger'
import type { RedisTarget } from '../lib/redis'
import type { UsageRecord, UsageSink } from './usage-record'

/**
 * One job carries one micro-batch of records (`data.records`). Exactly-once is the worker's: usage_events has one row
 * per request_id (ON CONFLICT DO NOTHING), so a batch sent twice, or regrouped after a failed send, is harmless.
 * The jobId is derived from the batch, so re-sending the same batch while its job exists is a no-op too.
 * Failed jobs stay for inspection and retry; 16 attempts from 1 s doubling span about 18 hours of Postgres trouble.
 */
export const USAGE_JOB_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: false,
  attempts: 16,
  backoff: { type: 'exponential', delay: 1_000 },
} as const satisfies JobsOptions

export const USAGE_JOB_NAME = 'records'

/** The payload of a usage job. (Workers also accept a bare UsageRecord, the format of one job per record.) */
export interface UsageJobData {
  records: UsageRecord[]
}

export type UsageQueueSinkOptions = QueueSinkOptions

/** Micro-batching, retries and outage behaviour: src/lib/queue-sink.ts. */
export interface UsageQueueSink extends QueueSink<UsageRecord> {
  record: UsageSink
}

export function createUsageQueueSink(redis: RedisTarget | string, logger: Logger, options: UsageQueueSinkOptions = {}): UsageQueueSink {
  return createQueueSink<UsageRecord>(
    redis,
    logger,
    { queue: USAGE_QUEUE, jobName: USAGE_JOB_NAME, jobOptions: USAGE_JOB_OPTIONS, jobIdPrefix: 'batch', what: 'usage', describe: (r) => ({ accountId: r.accountId }) },
    options,
  )
}
