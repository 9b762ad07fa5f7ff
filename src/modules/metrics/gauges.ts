// Gauges read when Prometheus scrapes: queue depths and the age of their oldest waiting job, and how far Stripe reporting lags.
import { Queue } from 'bullmq'
import type { RedisConnection } from '../../lib/redis'
import type { Sql } from '../../lib/db'
import { scrapedGauge } from '../../lib/metrics'
import { USAGE_QUEUE } from '../../lib/queues'
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
  const queues = [USAGE_QUEUE, WEBHOOKS_QUEUE].map((name) => new Queue(name, { connection: deps.redis, prefix: deps.queuePrefix }))
  for (const queue of queues) queue.on('error', () => {})

  scrapedGauge('meterway_queue_jobs', 'Jobs in each queue, by state', ['queue', 'state'], async (gauge) => {
    for (const queue of queues) {
      const counts = await queue.getJobCounts(...STATES)
      for (const state of STATES) gauge.set({ queue: queue.name, state }, counts[state] ?? 0)
    }
  })
  scrapedGauge('meterway_queue_oldest_waiting_seconds', 'Age of the oldest job waiting in each queue (0: none waits)', ['queue'], async (gauge) => {
    for (const queue of queues) {
      // BullMQ's wait list takes new jobs at its head: the oldest is the last one.
      const [oldest] = await queue.getWaiting(-1, -1)
      gauge.set({ queue: queue.name }, oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0)
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
