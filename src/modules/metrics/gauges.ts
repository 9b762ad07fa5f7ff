// Gauges read when Prometheus scrapes: queue depths (the usage inbox too) and the age of their oldest waiting work, and how far Stripe reporting lags.
import { Queue } from 'bullmq'
import type { RedisConnection } from '../../lib/redis'
import type { Sql } from '../../lib/db'
import { scrapedGauge } from '../../lib/metrics'
import { USAGE_QUEUE } from '../../lib/queues'
import { usageInboxKeys } from '../../metering/usage-inbox'
import type { UsageJobData } from '../../metering/usage-queue'
import { WEBHOOKS_QUEUE } from '../webhooks/queue'

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const

export interface GaugeDeps {
  /** A shared ioredis connection (the queues only read through it). */
  redis: RedisConnection
  queuePrefix: string
  sql: Sql
}

/** Registers the scrape-time gauges; returns what closes their queue handles. */
export function registerScrapedGauges(deps: GaugeDeps): () => Promise<void> {
  const usageInbox = usageInboxKeys(deps.queuePrefix).inbox
  const queues = [USAGE_QUEUE, WEBHOOKS_QUEUE].map((name) => new Queue(name, { connection: deps.redis, prefix: deps.queuePrefix }))
  for (const queue of queues) queue.on('error', () => {})

  scrapedGauge('meterway_queue_jobs', 'Jobs in each queue, by state', ['queue', 'state'], async (gauge) => {
    for (const queue of queues) {
      const counts = await queue.getJobCounts(...STATES)
      for (const state of STATES) gauge.set({ queue: queue.name, state }, counts[state] ?? 0)
    }
    // Usage batches the gateways pushed that no worker has made a job yet (workers/usage/inbox-mover.ts).
    gauge.set({ queue: USAGE_QUEUE, state: 'inbox' }, await deps.redis.llen(usageInbox))
  })
  scrapedGauge('meterway_queue_oldest_waiting_seconds', 'Age of the oldest job waiting in each queue (0: none waits)', ['queue'], async (gauge) => {
    for (const queue of queues) {
      // BullMQ's wait list takes new jobs at its head: the oldest is the last one.
      const [oldest] = await queue.getWaiting(-1, -1)
      let since = oldest?.timestamp ?? Date.now()
      // Usage batches not yet jobs are older still: without a worker they wait in the inbox, not in the queue.
      if (queue.name === USAGE_QUEUE) since = Math.min(since, inboxSince(await deps.redis.lindex(usageInbox, 0)))
      gauge.set({ queue: queue.name }, Math.max(0, (Date.now() - since) / 1000))
    }
  })
  scrapedGauge('meterway_stripe_report_lag_seconds', 'Age of the oldest meter event not yet accepted by Stripe (0: none pending)', [], async (gauge) => {
    const [row] = await deps.sql<{ lag: number | null }[]>`
      SELECT extract(epoch FROM now() - min(created_at))::float8 AS lag FROM stripe_report_batches WHERE status = 'pending'`
    gauge.set(row?.lag ?? 0)
  })
  return async () => {
    await Promise.all(queues.map((queue) => queue.close().catch(() => {})))
  }
}

/** When the first record of an inbox batch started (now when there is none, or it cannot be read). */
function inboxSince(batch: string | null): number {
  if (batch === null) return Date.now()
  try {
    const startedAt = Date.parse((JSON.parse(batch) as UsageJobData).records[0]!.startedAt)
    return Number.isFinite(startedAt) ? startedAt : Date.now()
  } catch {
    return Date.now()
  }
}
