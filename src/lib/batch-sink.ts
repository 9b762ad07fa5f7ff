// A micro-batching producer whatever carries its batches: synchronous record(), batches sent with retries, held through outages.
import { isValidJobId } from './queues'
import type { Logger } from './logger'

export interface BatchSinkOptions {
  /** How long a record may wait for others before its batch is sent. */
  flushMs?: number
  /** Records per batch; a full buffer is sent at once. */
  maxBatch?: number
  /** Records kept in memory while Redis is unreachable; beyond it new records are dropped (and logged). */
  maxBuffered?: number
  /** Backoff between attempts while Redis refuses: doubles from min to max. */
  retryMinMs?: number
  retryMaxMs?: number
}

/** What names the records in logs. */
export interface BatchTarget<T> {
  /** Names the records in log lines ("usage"). */
  what: string
  /** Extra log fields for a refused record. */
  describe?: (record: T) => Record<string, unknown>
}

/** What carries a batch to Redis. send() rejects when the batch may not have arrived: it is then sent again. */
export interface BatchTransport<T> {
  send(batch: T[], draining: boolean): Promise<void>
  /** Ends waits for the connection (close() is under way). */
  cancelWaits?(): void
  close(): Promise<void>
}

/** Lets a transport say its connection is back: a sink in a long backoff retries at once. */
export interface BatchSinkControl {
  retryNow(): void
  pendingCount(): number
}

const BATCH_SINK_DEFAULTS: Required<BatchSinkOptions> = {
  flushMs: 10,
  maxBatch: 250,
  maxBuffered: 100_000,
  retryMinMs: 100,
  retryMaxMs: 5_000,
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

export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * Records wait up to flushMs (or until maxBatch are waiting) and go as one batch. What a crash (SIGKILL, OOM) of the
 * process can lose: only the records in this in-memory buffer, i.e. those of the last ~flushMs, plus, during a Redis
 * outage, everything held waiting for Redis. SIGTERM calls drain(). Every record must carry a request id usable as a
 * BullMQ job id (its batch's job is named after it).
 */
export function createBatchSink<T extends { requestId: string }>(
  logger: Logger,
  transportFor: (control: BatchSinkControl) => BatchTransport<T>,
  target: BatchTarget<T>,
  options: BatchSinkOptions = {},
): QueueSink<T> {
  const o = { ...BATCH_SINK_DEFAULTS, ...options }
  let buffer: T[] = []
  let inFlight = 0
  let pumping: Promise<void> | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  let retryMs = 0
  let draining = false
  let closed = false
  let droppedUnreported = 0

  const transport = transportFor({
    // Do not sit out the rest of a long backoff once Redis is back.
    retryNow() {
      if (retryMs > 0 && buffer.length > 0) {
        retryMs = 0
        startPump()
      }
    },
    pendingCount: () => buffer.length + inFlight,
  })

  /** Sends one batch from the head of the buffer; on failure puts it back in front, in order. */
  async function sendBatch(): Promise<boolean> {
    const batch = buffer.splice(0, o.maxBatch)
    inFlight = batch.length
    try {
      await transport.send(batch, draining)
      retryMs = 0
      return true
    } catch (error) {
      buffer = batch.concat(buffer)
      retryMs = Math.min(Math.max(retryMs * 2, o.retryMinMs), o.retryMaxMs)
      logger.warn(`${target.what} records not queued yet; kept in memory for retry`, {
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
    logger.error(`${target.what} records dropped: in-memory buffer full`, { dropped: droppedUnreported, maxBuffered: o.maxBuffered })
    droppedUnreported = 0
  }

  /**
   * One batch, and more at once only while full ones wait: what gathers during a send waits for the next flush. A
   * batch costs about the same whatever it carries, so under load each carries flushMs of records (sending what
   * gathered during the last send instead made batches of a few records: ~30 µs of gateway CPU per request, bench A/B).
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
        logger.error(`${target.what} record after the ${target.what} queue closed: lost`, { requestId: r.requestId })
        return
      }
      if (!isValidJobId(r.requestId)) {
        logger.error(`${target.what} record with an unusable request id: not queued`, { requestId: r.requestId, ...target.describe?.(r) })
        return
      }
      if (buffer.length + inFlight >= o.maxBuffered) {
        // Say it at once the first time, then in counts from the send path.
        if (droppedUnreported++ === 0) logger.error(`${target.what} records dropped: in-memory buffer full`, { dropped: 1, maxBuffered: o.maxBuffered })
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
      logger.error(`${target.what} sink failed`, { requestId: r?.requestId, error: errorText(error) })
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
    if (left > 0) logger.error(`${target.what} records not queued before the drain deadline`, { pending: left, timeoutMs })
  }

  async function close(): Promise<void> {
    if (closed) return
    closed = true
    if (timer) clearTimeout(timer)
    timer = null
    transport.cancelWaits?.()
    await pumping
    const left = buffer.length
    if (left > 0) logger.error(`${target.what} queue closed with records still in memory: lost`, { lost: left })
    buffer = []
    await transport.close()
  }

  return { record, drain, close, pendingCount: () => buffer.length + inFlight }
}
