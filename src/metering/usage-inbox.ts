// The request path's usage sink: micro-batches of records pushed onto a Redis list over the request path's own connection.
import { createBatchSink, type BatchSinkOptions, type QueueSink } from '../lib/batch-sink'
import type { HotRedis } from '../lib/hot-redis'
import type { Logger } from '../lib/logger'
import { QUEUE_PREFIX } from '../lib/queues'
import type { UsageJobData } from './usage-queue'
import type { UsageRecord } from './usage-record'

/**
 * Where batches wait for a worker (workers/usage/inbox-mover.ts moves each into one BullMQ `usage` job), the one a
 * batch is in while it is being moved, and where a batch that is not one goes. One hash tag (the queue prefix's):
 * one cluster slot, so a batch moves between them atomically.
 */
export function usageInboxKeys(prefix: string = QUEUE_PREFIX): { inbox: string; moving: string; rejected: string } {
  return { inbox: `${prefix}:usage-inbox`, moving: `${prefix}:usage-inbox:moving`, rejected: `${prefix}:usage-inbox:rejected` }
}

export interface UsageInboxOptions extends BatchSinkOptions {
  /** The queue prefix (its hash tag); tests use their own. */
  prefix?: string
}

/**
 * Why not a BullMQ producer here: adding one job per 10 ms batch through BullMQ and ioredis cost the gateway 9–12 µs of
 * CPU per request (its JSON, msgpack, script and node:net socket work), and an RPUSH of the same batch on the request
 * path's pipelined connection about nothing measurable (bench:ab --kind json, in turns: 116 → 100 µs, against 104 with
 * no usage sent at all). The worker side turns each batch into the same job as before, so retries, failed-job
 * inspection and exactly-once (the job id, then ON CONFLICT in Postgres) are BullMQ's as they were. A batch pushed
 * twice (an answer lost in an outage, then a retry) is moved twice into one job id: harmless.
 */
export function createUsageInboxSink(hot: HotRedis, logger: Logger, options: UsageInboxOptions = {}): QueueSink<UsageRecord> {
  const { inbox } = usageInboxKeys(options.prefix)
  return createBatchSink<UsageRecord>(
    logger,
    () => ({
      // Nobody waits for it: it goes with the next batch of the connection, or within 2 ms.
      send: async (batch) => {
        const data: UsageJobData = { records: batch }
        await hot.send('RPUSH', [inbox, JSON.stringify(data)], 'later')
      },
      close: async () => {},
    }),
    { what: 'usage', describe: (r) => ({ accountId: r.accountId }) },
    options,
  )
}
