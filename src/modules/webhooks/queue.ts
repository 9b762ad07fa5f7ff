// The `webhooks` BullMQ queue: job ids, job data, the retry schedule (exponential, capped, jittered) and job options.
import type { JobsOptions } from 'bullmq'

export const WEBHOOKS_QUEUE = 'webhooks'

/** Name of our custom backoff strategy; the worker supplies its function (BullMQ keeps functions out of Redis). */
export const WEBHOOK_BACKOFF_TYPE = 'webhook'

export interface WebhookJobData {
  eventId: string
  endpointId: string
}

/** One job per (event, endpoint): re-emitting the same event while its job exists adds nothing. '_' because BullMQ ids cannot contain ':'. */
export const webhookJobId = (eventId: string, endpointId: string) => `${eventId}_${endpointId}`

export interface BackoffSchedule {
  /** Delay before the first retry. */
  baseMs: number
  /** No single wait is longer than this. */
  capMs: number
  /** ±share of each delay drawn at random, so endpoints that failed together do not all retry together. */
  jitter: number
}

export const DEFAULT_BACKOFF: BackoffSchedule = { baseMs: 30_000, capMs: 6 * 3_600_000, jitter: 0.2 }

/**
 * Attempts per job (the first send and 14 retries): 30 s doubling to the 6 h cap gives ≈ 32.5 h of waiting, and
 * still ≥ 24 h when every draw of the jitter is the lowest (asserted in the tests).
 */
export const WEBHOOK_ATTEMPTS = 15

/** Delay before retry number `retry` (1 for the first); `random` in [0, 1). */
export function backoffDelay(retry: number, schedule: BackoffSchedule = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const nominal = Math.min(schedule.capMs, schedule.baseMs * 2 ** Math.max(0, retry - 1))
  return Math.round(nominal * (1 + schedule.jitter * (2 * random() - 1)))
}

export const webhookJobOptions = (eventId: string, endpointId: string): JobsOptions => ({
  jobId: webhookJobId(eventId, endpointId),
  attempts: WEBHOOK_ATTEMPTS,
  backoff: { type: WEBHOOK_BACKOFF_TYPE },
  // Kept a day after success so a re-emitted event id is recognised; failures kept a week for inspection.
  removeOnComplete: { age: 86_400, count: 100_000 },
  removeOnFail: { age: 7 * 86_400 },
})
