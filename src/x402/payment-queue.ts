// The x402 payment recorder: checks each record and micro-batches it into the BullMQ `x402-payments` queue; never waits on Redis or Postgres.
import type { JobsOptions } from 'bullmq'
import type { Logger } from '../lib/logger'
import { createQueueSink, type QueueSink, type QueueSinkOptions } from '../lib/queue-sink'
import { X402_PAYMENTS_QUEUE } from '../lib/queues'
import type { RedisTarget } from '../lib/redis'
import type { X402PaymentRecord, X402PaymentRecorder } from './payment-record'

/**
 * As the usage queue's (src/metering/usage-queue.ts): one job per micro-batch, its id derived from the first request
 * id; exactly-once is the worker's (x402_payments has one row per request_id, ON CONFLICT DO NOTHING), so a record
 * given twice, or a batch re-sent, is stored once.
 */
export const X402_PAYMENT_JOB_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: false,
  attempts: 16,
  backoff: { type: 'exponential', delay: 1_000 },
} as const satisfies JobsOptions

export const X402_PAYMENT_JOB_NAME = 'payments'

export interface X402PaymentJobData {
  /** startedAt travels as an ISO string (JSON). */
  records: (Omit<X402PaymentRecord, 'startedAt'> & { startedAt: string | Date })[]
}

export interface X402PaymentQueue extends Omit<QueueSink<X402PaymentRecord>, 'record'> {
  /** Synchronous and never throws; a malformed record is logged and dropped (it could never be stored). */
  record: X402PaymentRecorder
}

const SCHEMES = new Set(['exact', 'upto'])
const STATUSES = new Set(['settled', 'refused', 'settle_failed', 'upstream_failed'])

/** Why a record cannot be stored (the table's checks, said up front), or null. */
export function paymentRecordProblem(r: X402PaymentRecord): string | null {
  if (typeof r.amount !== 'string' || !/^[0-9]{1,78}$/.test(r.amount)) return 'amount is not a decimal string of atomic units'
  if (!SCHEMES.has(r.scheme)) return 'unknown scheme'
  if (!STATUSES.has(r.status)) return 'unknown status'
  if (!(r.startedAt instanceof Date) || Number.isNaN(r.startedAt.getTime())) return 'startedAt is not a date'
  for (const field of ['route', 'payer', 'network', 'asset', 'payTo'] as const) if (typeof r[field] !== 'string') return `${field} is not a string`
  if (r.transaction !== null && typeof r.transaction !== 'string') return 'transaction is neither a string nor null'
  return null
}

/**
 * The first request id, the count and a hash of every id: unlike usage (one record per request, so a batch is known by
 * its first id and size), a payment may be given twice, and [a, a] then [a, b] must not share a job id.
 */
export function paymentJobId(batch: readonly X402PaymentRecord[]): string {
  const digest = Bun.hash(batch.map((r) => r.requestId).join('\n')).toString(36)
  return `pay_${batch[0]!.requestId}_${batch.length}_${digest}`
}

export function createX402PaymentQueue(redis: RedisTarget | string, logger: Logger, options: QueueSinkOptions = {}): X402PaymentQueue {
  const sink = createQueueSink<X402PaymentRecord>(
    redis,
    logger,
    {
      queue: X402_PAYMENTS_QUEUE,
      jobName: X402_PAYMENT_JOB_NAME,
      jobOptions: X402_PAYMENT_JOB_OPTIONS,
      jobIdOf: paymentJobId,
      what: 'x402 payment',
      describe: (r) => ({ route: r.route }),
    },
    options,
  )
  const record: X402PaymentRecorder = (r) => {
    let problem: string | null
    try {
      problem = paymentRecordProblem(r)
    } catch {
      problem = 'not a payment record'
    }
    if (problem) {
      logger.error('x402 payment record not stored', { requestId: r?.requestId, problem })
      return
    }
    sink.record(r)
  }
  return { ...sink, record }
}
