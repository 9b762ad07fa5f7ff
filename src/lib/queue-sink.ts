// A micro-batching producer for a BullMQ queue: one job per batch (src/lib/batch-sink.ts holds the batching, retries and outages).
import { Queue, type JobsOptions } from 'bullmq'
import { createBatchSink, errorText, type BatchSinkOptions, type QueueSink } from './batch-sink'
import { createProducerConnection, QUEUE_PREFIX } from './queues'
import type { Logger } from './logger'
import type { RedisTarget } from './redis'

export type { QueueSink } from './batch-sink'

export interface QueueSinkOptions extends BatchSinkOptions {
  /** BullMQ key prefix; tests use their own so they never see each other's jobs. */
  prefix?: string
  /** Bound on waiting for Redis, and on one add (a late success is harmless: the retry is deduplicated by jobId). */
  sendTimeoutMs?: number
}

/*
 * Measured on this 2-core machine (local Redis 7), gateway CPU per request through the benchmark: one awaited
 * `queue.add` per record about 110 µs; one job per record sent with `addBulk` about 25–43 µs (BullMQ's per-job work);
 * one job per micro-batch, as here, a few µs. The usage records of the request path no longer come this way: see
 * src/metering/usage-inbox.ts.
 */
/** Which queue the batches go to, and how their jobs are named and kept. */
export interface QueueTarget<T> {
  queue: string
  jobName: string
  jobOptions: JobsOptions
  /**
   * A batch's job id: re-sending a batch while its job exists is then a no-op. It must name the batch: two different
   * batches with one id would lose the second.
   */
  jobIdOf: (batch: readonly T[]) => string
  /** Names the records in log lines ("usage"). */
  what: string
  /** Extra log fields for a refused record. */
  describe?: (record: T) => Record<string, unknown>
}

const SEND_TIMEOUT_MS = 5_000

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export function createQueueSink<T extends { requestId: string }>(redis: RedisTarget | string, logger: Logger, target: QueueTarget<T>, options: QueueSinkOptions = {}): QueueSink<T> {
  const prefix = options.prefix ?? QUEUE_PREFIX
  const sendTimeoutMs = options.sendTimeoutMs ?? SEND_TIMEOUT_MS
  return createBatchSink<T>(
    logger,
    (control) => {
      const connection = createProducerConnection(redis)
      let queue: Queue<{ records: T[] }> | null = null
      let redisDown = false
      let closed = false
      const stopWaiting = new Set<() => void>()

      // ioredis reports each failed reconnect; say it once per outage (the send path logs what is held back).
      const onRedisError = (error: unknown) => {
        if (redisDown || closed) return
        redisDown = true
        logger.warn(`${target.what} queue: Redis unreachable`, { error: errorText(error) })
      }
      connection.on('error', onRedisError)
      connection.on('ready', () => {
        if (redisDown) logger.info(`${target.what} queue: Redis reachable again`, { pending: control.pendingCount() })
        redisDown = false
        control.retryNow()
      })

      /** Waits for the connection to be ready, at most ms; close() cuts the wait short. */
      function connected(ms: number): Promise<void> {
        if (connection.status === 'ready') return Promise.resolve()
        return new Promise<void>((resolve, reject) => {
          const done = (error?: Error) => {
            clearTimeout(timer)
            connection.off('ready', onReady)
            stopWaiting.delete(onClose)
            if (error) reject(error)
            else resolve()
          }
          const onReady = () => done()
          const onClose = () => done(new Error(`${target.what} queue closed`))
          const timer = setTimeout(() => done(new Error(`Redis not reachable (connection ${connection.status})`)), ms)
          connection.on('ready', onReady)
          stopWaiting.add(onClose)
        })
      }

      /** The Queue is opened once the connection is ready; BullMQ never retries a failed init, so a failed one is dropped. */
      async function openQueue(draining: boolean): Promise<Queue<{ records: T[] }>> {
        await connected(draining ? Math.min(sendTimeoutMs, 50) : sendTimeoutMs)
        if (queue) return queue
        const q = new Queue<{ records: T[] }>(target.queue, { connection, prefix, defaultJobOptions: target.jobOptions })
        q.on('error', onRedisError)
        try {
          await withTimeout(q.waitUntilReady(), sendTimeoutMs, `${target.what} queue init`)
        } catch (error) {
          void q.close().catch(() => {})
          throw error
        }
        return (queue = q)
      }

      return {
        async send(batch, draining) {
          const q = await openQueue(draining)
          // Request ids are unique per request; one recorded twice in a batch would only cost a wasted row write.
          const jobId = target.jobIdOf(batch)
          await withTimeout(q.add(target.jobName, { records: batch }, { jobId }), sendTimeoutMs, `${target.what} job add`)
        },
        cancelWaits() {
          closed = true
          for (const stop of stopWaiting) stop()
        },
        async close() {
          closed = true
          await queue?.close().catch(() => {})
          if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect())
          else connection.disconnect()
        },
      }
    },
    target,
    options,
  )
}
