// Wiring of the webhooks worker: BullMQ jobs of queue `webhooks` → deliver() with Postgres, the SSRF guard and pinnedFetch.
import { Worker, type Job } from 'bullmq'
import { logWorkerErrors } from '../lib/worker-errors'
import { disableEndpoint, findEndpoint, findEvent, insertDelivery } from '../../src/db/queries/webhooks'
import type { Sql } from '../../src/lib/db'
import type { Logger } from '../../src/lib/logger'
import { countWebhookDelivery } from '../../src/lib/metrics'
import { pinnedFetch } from '../../src/lib/pinned-fetch'
import { createWorkerConnection, QUEUE_PREFIX } from '../../src/lib/queues'
import type { RedisTarget } from '../../src/lib/redis'
import { parseWebhookUrl, resolveChecked, type LookupFn } from '../../src/lib/ssrf'
import { DEFAULT_BACKOFF, WEBHOOK_BACKOFF_TYPE, WEBHOOKS_QUEUE, backoffDelay, type BackoffSchedule, type WebhookJobData } from '../../src/modules/webhooks/queue'
import { deliver, type DeliveryDeps } from './processor'

export interface WebhookWorkerOptions {
  redis: RedisTarget | string
  sql: Sql
  logger: Logger
  /** Config.webhooks.allowHttpLoopback: dev/tests only. */
  allowHttpLoopback: boolean
  /** BullMQ key prefix; must match the producer's. */
  prefix?: string
  /** Tests shorten the retry schedule; production uses DEFAULT_BACKOFF. */
  backoff?: Partial<BackoffSchedule>
  /** Tests shorten the per-attempt timeout. */
  timeoutMs?: number
  /** Tests answer DNS themselves. */
  lookup?: LookupFn
  /** Deliveries in flight: each mostly waits on a receiver (up to the 15 s timeout). */
  concurrency?: number
  lockDurationMs?: number
  stalledIntervalMs?: number
}

export interface WebhookWorker {
  worker: Worker<WebhookJobData>
  close(): Promise<void>
}

const DEFAULT_CONCURRENCY = 32

export function startWebhookWorker(o: WebhookWorkerOptions): WebhookWorker {
  const { logger, sql } = o
  const schedule: BackoffSchedule = { ...DEFAULT_BACKOFF, ...o.backoff }
  const ssrf = { allowHttpLoopback: o.allowHttpLoopback, ...(o.lookup ? { lookup: o.lookup } : {}) }
  const deps: DeliveryDeps = {
    findEndpoint: (id) => findEndpoint(sql, id),
    findEvent: (id) => findEvent(sql, id),
    check: (url) => resolveChecked(parseWebhookUrl(url, ssrf), ssrf),
    send: pinnedFetch,
    recordAttempt: (delivery) => insertDelivery(sql, delivery),
    disableEndpoint: (id, reason) => disableEndpoint(sql, id, reason),
    now: Date.now,
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  }

  const processor = async (job: Job<WebhookJobData>) => {
    // attemptsStarted also counts a rerun after a crash, which BullMQ's attemptsMade does not: each send has its own log row.
    const attempt = Math.max(job.attemptsStarted ?? 0, job.attemptsMade + 1)
    let outcome: Awaited<ReturnType<typeof deliver>>
    try {
      outcome = await deliver(deps, { eventId: job.data.eventId, endpointId: job.data.endpointId, attempt })
    } catch (error) {
      countWebhookDelivery('failed')
      throw error
    }
    countWebhookDelivery(outcome)
    if (outcome === 'endpoint_disabled') logger.warn('webhook endpoint answered 410 and was disabled', { endpointId: job.data.endpointId, eventId: job.data.eventId })
    return outcome
  }

  const connection = createWorkerConnection(o.redis)
  connection.on('error', () => {})
  const worker = new Worker<WebhookJobData>(WEBHOOKS_QUEUE, processor, {
    connection,
    prefix: o.prefix ?? QUEUE_PREFIX,
    concurrency: o.concurrency ?? DEFAULT_CONCURRENCY,
    // Only our strategy is named on the jobs; BullMQ passes 1 for the first retry.
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string) => {
        if (type !== WEBHOOK_BACKOFF_TYPE) throw new Error(`unknown backoff type ${type}`)
        return backoffDelay(attemptsMade, schedule)
      },
    },
    // A job killed mid-send is sent again (receivers de-duplicate by webhook-id); a few crashes must not drop it.
    maxStalledCount: 5,
    ...(o.lockDurationMs ? { lockDuration: o.lockDurationMs } : {}),
    ...(o.stalledIntervalMs ? { stalledInterval: o.stalledIntervalMs } : {}),
  })

  logWorkerErrors(worker, 'webhooks', logger)
  worker.on('failed', (job, error) => {
    if (!job) return
    const final = job.attemptsMade >= (job.opts.attempts ?? 1)
    // Ids and the reason only: never the URL (it may carry a customer's token) nor the secret.
    const fields = { jobId: job.id, eventId: job.data.eventId, endpointId: job.data.endpointId, attempt: job.attemptsMade, error: error.message }
    if (final) logger.error('webhook delivery failed for good; left in the failed set', fields)
    else logger.debug('webhook delivery failed; will retry', fields)
  })

  return {
    worker,
    async close() {
      // Waits for deliveries in flight (each bounded by the timeout), then closes the connections.
      await worker.close()
      await connection.quit().catch(() => connection.disconnect())
    },
  }
}
