// A micro-batching producer for a BullMQ queue: synchronous record(), batches sent with retries, held through Redis outages.
import { Queue, type JobsOptions } from 'bullmq'
import { createProducerConnection, isValidJobId, QUEUE_PREFIX } from './queues'
import type { Logger } from './logger'
import type { RedisTarget } from './redis'

export interface QueueSinkOptions {
  /** BullMQ key prefix; tests use their own so they never see each other's jobs. */
  prefix?: string
  /** How long a record may wait for others before its batch is sent. */
  flushMs?: number
  /** Records per addBulk; a full buffer is sent at once. */
  maxBatch?: number
  /** Records kept in memory while Redis is unreachable; beyond it new records are dropped (and logged). */
  maxBuffered?: number
  /** Backoff between attempts while Redis refuses: doubles from min to max. */
  retryMinMs?: number
  retryMaxMs?: number
  /** Bound on waiting for Redis, and on one addBulk (a late success is harmless: the retry is deduplicated by jobId). */
  sendTimeoutMs?: number
}

/*
 * Measured on this 2-core machine (local Redis 7), gateway CPU per request through the benchmark: one awaited
 * `queue.add` per record about 110 µs; one job per record sent with `addBulk` about 25–43 µs (BullMQ's per-job work);
 * one job per micro-batch, as here, a few µs. So records wait up to 10 ms (or until maxBatch are waiting) and go as one
 * job. What a crash (SIGKILL, OOM) of
 * the gateway can lose: only the records in this in-memory buffer, i.e. those of the last ~10 ms, plus, during a
 * Redis outage, everything held waiting for Redis. SIGTERM calls drain().
 */
/** Which queue the batches go to, and how their jobs are named and kept. */
export interface QueueTarget<T> {
  queue: string
  jobName: string
  jobOptions: JobsOptions
  /** A batch's job id is `${jobIdPrefix}_${first request id}_${count}`: re-sending a batch while its job exists is a no-op. */
  jobIdPrefix: string
  /** Another job id for a batch (it must name the batch: two different batches with one id would lose the second). */
  jobIdOf?: (batch: readonly T[]) => string
  /** Names the records in log lines ("usage"). */
  what: string
  /** Extra log fields for a refused record. */
  describe?: (record: T) => Record<string, unknown>
}

const DEFAULTS: Required<QueueSinkOptions> = {
  prefix: QUEUE_PREFIX,
  flushMs: 10,
  maxBatch: 250,
  maxBuffered: 100_000,
  retryMinMs: 100,
  retryMaxMs: 5_000,
  sendTimeoutMs: 5_000,
}

export interface QueueSink<T> {
  /** Synchronous and never throws: it runs in the finish path of every request. */
  record: (record: T) => void
  /** Sends everything buffered, retrying promptly, for at most timeoutMs; logs what could not be sent. */
  drain(timeoutMs: number): Promise<void>
  close(): Promise<void>
  /** Records accepted but not yet acknowledged by Redis. */
  pendingCount(): number
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error))

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export function createQueueSink<T extends { requestId: string }>(redis: RedisTarget | string, logger: Logger, target: QueueTarget<T>, options: QueueSinkOptions = {}): QueueSink<T> {
  const o = { ...DEFAULTS, ...options, ...target }
  const connection = createProducerConnection(redis)
  let queue: Queue<{ records: T[] }> | null = null

  let buffer: T[] = []
  let inFlight = 0
  let pumping: Promise<void> | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  let retryMs = 0
  let draining = false
  let closed = false
  let droppedUnreported = 0
  let redisDown = false
  const stopWaiting = new Set<() => void>()

  // ioredis reports each failed reconnect; say it once per outage (the send path logs what is held back).
  const onRedisError = (error: unknown) => {
    if (redisDown || closed) return
    redisDown = true
    logger.warn(`${o.what} queue: Redis unreachable`, { error: errorText(error) })
  }
  connection.on('error', onRedisError)
  connection.on('ready', () => {
    if (redisDown) logger.info(`${o.what} queue: Redis reachable again`, { pending: buffer.length })
    redisDown = false
    // Do not sit out the rest of a long backoff once Redis is back.
    if (retryMs > 0 && buffer.length > 0) {
      retryMs = 0
      startPump()
    }
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
      const onClose = () => done(new Error(`${o.what} queue closed`))
      const timer = setTimeout(() => done(new Error(`Redis not reachable (connection ${connection.status})`)), ms)
      connection.on('ready', onReady)
      stopWaiting.add(onClose)
    })
  }

  /** The Queue is opened once the connection is ready; BullMQ never retries a failed init, so a failed one is dropped. */
  async function openQueue(): Promise<Queue<{ records: T[] }>> {
    await connected(draining ? Math.min(o.sendTimeoutMs, 50) : o.sendTimeoutMs)
    if (queue) return queue
    const q = new Queue<{ records: T[] }>(o.queue, { connection, prefix: o.prefix, defaultJobOptions: o.jobOptions })
    q.on('error', onRedisError)
    try {
      await withTimeout(q.waitUntilReady(), o.sendTimeoutMs, `${o.what} queue init`)
    } catch (error) {
      void q.close().catch(() => {})
      throw error
    }
    return (queue = q)
  }

  async function send(batch: T[]): Promise<void> {
    const q = await openQueue()
    // Request ids are unique per request; one recorded twice in a batch would only cost a wasted row write.
    const jobId = o.jobIdOf ? o.jobIdOf(batch) : `${o.jobIdPrefix}_${batch[0]!.requestId}_${batch.length}`
    await withTimeout(q.add(o.jobName, { records: batch }, { jobId }), o.sendTimeoutMs, `${o.what} job add`)
  }

  /** Sends one batch from the head of the buffer; on failure puts it back in front, in order. */
  async function sendBatch(): Promise<boolean> {
    const batch = buffer.splice(0, o.maxBatch)
    inFlight = batch.length
    try {
      await send(batch)
      retryMs = 0
      return true
    } catch (error) {
      buffer = batch.concat(buffer)
      retryMs = Math.min(Math.max(retryMs * 2, o.retryMinMs), o.retryMaxMs)
      logger.warn(`${o.what} records not queued yet; kept in memory for retry`, {
        pending: buffer.length,
        retryInMs: draining ? Math.min(retryMs, 50) : retryMs,
        error: errorText(error),
      })
      return false
    } finally {
      inFlight = 0
      reportDrops()
    }
  }

  function reportDrops(): void {
    if (droppedUnreported === 0) return
    logger.error(`${o.what} records dropped: in-memory buffer full`, { dropped: droppedUnreported, maxBuffered: o.maxBuffered })
    droppedUnreported = 0
  }

  /**
   * One batch, and more at once only while full ones wait: what gathers during a send waits for the next flush. A job
   * costs about the same whatever it carries, so under load each carries flushMs of records (sending what gathered
   * during the last send instead made jobs of a few records: ~30 µs of gateway CPU per request, bench A/B).
   */
  async function pump(): Promise<void> {
    while (buffer.length > 0 && !closed) {
      if (!(await sendBatch())) return
      if (buffer.length < o.maxBatch && !draining) return
    }
  }

  function startPump(): void {
    if (timer) clearTimeout(timer)
    timer = null
    if (pumping || closed) return
    pumping = pump().finally(() => {
      pumping = null
      if (buffer.length > 0) arm(retryMs || o.flushMs)
    })
  }

  function arm(delayMs: number): void {
    if (closed || pumping || timer) return
    timer = setTimeout(startPump, draining ? Math.min(delayMs, 50) : delayMs)
  }

  const record = (r: T): void => {
    try {
      if (closed) {
        logger.error(`${o.what} record after the ${o.what} queue closed: lost`, { requestId: r.requestId })
        return
      }
      if (!isValidJobId(r.requestId)) {
        logger.error(`${o.what} record with an unusable request id: not queued`, { requestId: r.requestId, ...o.describe?.(r) })
        return
      }
      if (buffer.length + inFlight >= o.maxBuffered) {
        // Say it at once the first time, then in counts from the send path.
        if (droppedUnreported++ === 0) logger.error(`${o.what} records dropped: in-memory buffer full`, { dropped: 1, maxBuffered: o.maxBuffered })
        return
      }
      buffer.push(r)
      if (pumping) return
      // A full batch goes out on the next tick (not inline: the caller is finishing a response), unless backing off.
      if (buffer.length >= o.maxBatch && retryMs === 0) {
        if (timer) clearTimeout(timer)
        timer = setTimeout(startPump, 0)
      } else {
        arm(retryMs || o.flushMs)
      }
    } catch (error) {
      logger.error(`${o.what} sink failed`, { requestId: r?.requestId, error: errorText(error) })
    }
  }

  async function drain(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs
    draining = true
    try {
      while ((buffer.length > 0 || pumping) && performance.now() < deadline) {
        if (!pumping) startPump()
        const wait = Bun.sleep(Math.max(1, Math.min(50, deadline - performance.now())))
        await (pumping ? Promise.race([pumping, wait]) : wait)
        // A failed attempt leaves the buffer full and no pump: pause briefly rather than spin on a dead Redis.
        if (!pumping && buffer.length > 0) await Bun.sleep(Math.max(0, Math.min(50, deadline - performance.now())))
      }
    } finally {
      draining = false
    }
    const left = buffer.length + inFlight
    if (left > 0) logger.error(`${o.what} records not queued before the drain deadline`, { pending: left, timeoutMs })
  }

  async function close(): Promise<void> {
    if (closed) return
    closed = true
    if (timer) clearTimeout(timer)
    timer = null
    for (const stop of stopWaiting) stop()
    await pumping
    const left = buffer.length
    if (left > 0) logger.error(`${o.what} queue closed with records still in memory: lost`, { lost: left })
    buffer = []
    await queue?.close().catch(() => {})
    if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect())
    else connection.disconnect()
  }

  return { record, drain, close, pendingCount: () => buffer.length + inFlight }
}
