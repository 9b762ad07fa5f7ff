// Moves the gateway's usage batches from their Redis list (src/metering/usage-inbox.ts) into BullMQ `usage` jobs, one job a batch, none lost.
import { Queue } from 'bullmq'
import type { Logger } from '../../src/lib/logger'
import { createWorkerConnection, isValidJobId, USAGE_QUEUE } from '../../src/lib/queues'
import type { RedisTarget } from '../../src/lib/redis'
import { usageInboxKeys } from '../../src/metering/usage-inbox'
import { USAGE_JOB_NAME, USAGE_JOB_OPTIONS, usageJobId, type UsageJobData } from '../../src/metering/usage-queue'

export interface InboxMoverOptions {
  redis: RedisTarget | string
  /** The queue prefix (the inbox's keys and the queue's). */
  prefix: string
  logger: Logger
  /** A batch still in the moving list after this long belongs to a mover that died: another one adds it again. */
  stuckAfterMs?: number
  /** How long one blocking wait for a batch lasts (a stop waits at most this). */
  blockSeconds?: number
}

export interface InboxMover {
  close(): Promise<void>
}

const STUCK_AFTER_MS = 10_000
const RETRY_MAX_MS = 5_000

/**
 * Each batch is taken with BLMOVE onto the moving list (atomic: it is always in one of the two), added as a job named
 * after the batch, then removed from the moving list. A mover killed between the move and the removal leaves the batch
 * on the moving list, and any mover's sweep adds it again once it has stayed there through two sweeps: the job id is
 * the batch's, so the add is a no-op while that job exists, and a job made twice is written once (ON CONFLICT in
 * Postgres). So any number of movers may run (one per worker process), none coordinating with the others.
 */
export function startUsageInboxMover(o: InboxMoverOptions): InboxMover {
  const keys = usageInboxKeys(o.prefix)
  const stuckAfterMs = o.stuckAfterMs ?? STUCK_AFTER_MS
  const blockSeconds = o.blockSeconds ?? 1
  const connection = createWorkerConnection(o.redis)
  // BLMOVE holds its connection while it waits: a connection of its own.
  const blocking = createWorkerConnection(o.redis)
  const queue = new Queue<UsageJobData>(USAGE_QUEUE, { connection, prefix: o.prefix, defaultJobOptions: USAGE_JOB_OPTIONS })
  let closed = false
  let failing = false
  // ioredis reports each failed reconnect: said once per outage (the loop says when batches move again).
  const onRedisError = (error: Error) => {
    if (failing || closed) return
    failing = true
    o.logger.warn('usage inbox: Redis unreachable; batches wait in Redis or in the gateways', { error: error.message })
  }
  connection.on('error', onRedisError)
  blocking.on('error', onRedisError)
  queue.on('error', onRedisError)

  /** Adds one batch as its job, then lets it go from the moving list; a batch that is not one goes to the rejected list. */
  async function move(payload: string): Promise<void> {
    const data = batchOf(payload)
    if (!data) {
      await connection.multi().rpush(keys.rejected, payload).lrem(keys.moving, 1, payload).exec()
      o.logger.error('usage inbox: a batch that is not one, kept on the rejected list', { list: keys.rejected, bytes: payload.length })
      return
    }
    await queue.add(USAGE_JOB_NAME, data, { jobId: usageJobId(data.records) })
    await connection.lrem(keys.moving, 1, payload)
  }

  async function moveAll(): Promise<void> {
    let retryMs = 0
    while (!closed) {
      try {
        const payload = await blocking.blmove(keys.inbox, keys.moving, 'LEFT', 'RIGHT', blockSeconds)
        if (payload !== null) await move(payload)
        if (failing) o.logger.info('usage inbox: moving batches again')
        failing = false
        retryMs = 0
      } catch (error) {
        if (closed) return
        if (!failing) o.logger.warn('usage inbox: batches cannot be moved now; retrying', { error: (error as Error).message })
        failing = true
        retryMs = Math.min(Math.max(retryMs * 2, 100), RETRY_MAX_MS)
        await Bun.sleep(retryMs)
      }
    }
  }

  /** Batches on the moving list now that were there at the last sweep too: their mover died; they are added again. */
  let seen = new Set<string>()
  async function sweep(): Promise<void> {
    try {
      const now = (await connection.lrange(keys.moving, 0, -1)) as string[]
      for (const payload of now) if (seen.has(payload) && !closed) await move(payload)
      seen = new Set(now)
    } catch (error) {
      o.logger.warn('usage inbox: the moving list could not be swept', { error: (error as Error).message })
    }
  }
  let sweeping: Promise<void> | null = null
  const sweeper = setInterval(() => {
    sweeping ??= sweep().finally(() => (sweeping = null))
  }, stuckAfterMs / 2)
  sweeper.unref?.()

  const running = moveAll()
  return {
    async close() {
      closed = true
      clearInterval(sweeper)
      // A batch BLMOVEd as the connection goes stays on the moving list: a sweep adds it later.
      blocking.disconnect()
      await running
      await sweeping
      await queue.close().catch(() => {})
      await connection.quit().catch(() => connection.disconnect())
    },
  }
}

/** A batch as the gateway pushed it: records, each with a request id BullMQ can name a job after. */
function batchOf(payload: string): UsageJobData | null {
  try {
    const data = JSON.parse(payload) as UsageJobData
    if (!Array.isArray(data?.records) || data.records.length === 0) return null
    if (!data.records.every((r) => isValidJobId(r?.requestId))) return null
    return data
  } catch {
    return null
  }
}
