// The BullMQ `usage` queue's jobs: their options, their name, what they carry and how a batch's job is named.
import type { JobsOptions } from 'bullmq'
import type { UsageRecord } from './usage-record'

/**
 * One job carries one micro-batch of records (`data.records`). Exactly-once is the worker's: usage_events has one row
 * per request_id (ON CONFLICT DO NOTHING), so a batch sent twice, or regrouped after a failed send, is harmless.
 * The jobId is derived from the batch, so re-adding the same batch while its job exists is a no-op too.
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

/** A batch's job id: its first request id and its size (request ids are BullMQ-safe: the sink refuses others). */
export function usageJobId(records: readonly { requestId: string }[]): string {
  return `batch_${records[0]!.requestId}_${records.length}`
}
