// Wiring of the x402-payments worker: BullMQ jobs of queue `x402-payments` → writePayments → x402_payments; a job completes after its commit.
import { Worker } from 'bullmq'
import { insertX402Payments } from '../../src/db/queries/x402-payments'
import type { Sql } from '../../src/lib/db'
import type { Logger } from '../../src/lib/logger'
import { createWorkerConnection, QUEUE_PREFIX, X402_PAYMENTS_QUEUE } from '../../src/lib/queues'
import type { RedisTarget } from '../../src/lib/redis'
import type { X402PaymentJobData } from '../../src/x402/payment-queue'
import { logWorkerErrors } from '../lib/worker-errors'
import { writePayments } from './processor'
import { isRecordError } from '../lib/record-error'

export interface X402PaymentWorkerOptions {
  redis: RedisTarget | string
  sql: Sql
  logger: Logger
  /** BullMQ key prefix; must match the producer's. */
  prefix?: string
  lockDurationMs?: number
  stalledIntervalMs?: number
}

export interface X402PaymentWorker {
  worker: Worker<X402PaymentJobData>
  close(): Promise<void>
}

export function startX402PaymentWorker(o: X402PaymentWorkerOptions): X402PaymentWorker {
  const { logger } = o
  const connection = createWorkerConnection(o.redis)
  connection.on('error', () => {})
  const deps = {
    insert: (records: X402PaymentJobData['records']) => insertX402Payments(o.sql, records),
    isRecordError,
    reject: (record: X402PaymentJobData['records'][number], error: unknown) =>
      logger.error('x402 payment record refused by Postgres; not stored', { requestId: record.requestId, route: record.route, error: String(error) }),
  }
  const worker = new Worker<X402PaymentJobData>(X402_PAYMENTS_QUEUE, (job) => writePayments(deps, job.data.records), {
    connection,
    prefix: o.prefix ?? QUEUE_PREFIX,
    // Payments come one per paid request, each job a micro-batch: a few writers are plenty.
    concurrency: 4,
    // Jobs are idempotent (one row per request id), so a job may survive several worker crashes.
    maxStalledCount: 10,
    removeOnComplete: { count: 0 },
    ...(o.lockDurationMs ? { lockDuration: o.lockDurationMs } : {}),
    ...(o.stalledIntervalMs ? { stalledInterval: o.stalledIntervalMs } : {}),
  })
  logWorkerErrors(worker, 'x402-payments', logger)
  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      logger.error('x402 payment job failed for good; left in the failed set', { jobId: job.id, records: job.data.records.length, attempts: job.attemptsMade, error: error.message })
    }
  })
  return {
    worker,
    async close() {
      await worker.close()
      await connection.quit().catch(() => connection.disconnect())
    },
  }
}
