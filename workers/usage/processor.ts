// The usage worker's core: gathers records into batches and settles each record's promise only once its batch is committed.
import type { UsageRecord } from '../../src/metering/usage-record'

export interface UsageBatcherOptions {
  /** Flush when this many distinct records are waiting. */
  batchSize: number
  /** ...or this long after the first record of a batch arrived. */
  flushMs: number
  /** Writes a batch in one statement; resolves to how many rows were new. */
  insert: (records: UsageRecord[]) => Promise<number>
  /**
   * True for an error caused by some record's content (a constraint or data error), not by the database being
   * unavailable. Such a batch is split in halves and retried, so one bad record fails alone instead of holding
   * back every record of its batch on every retry. Default: no error is.
   */
  isRecordError?: (error: unknown) => boolean
  /** Called after every insert attempt of a batch (or a split half). */
  onBatch?: (result: { records: number; inserted: number; ms: number; error?: unknown }) => void
}

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
}

interface Entry {
  record: UsageRecord
  /** Every add of this request id: a job delivered twice shares the row, and both jobs complete with it. */
  waiters: Waiter[]
}

export class UsageBatcher {
  private batch = new Map<string, Entry>()
  private timer: ReturnType<typeof setTimeout> | null = null
  private readonly inserting = new Set<Promise<void>>()
  private writing = 0

  constructor(private readonly options: UsageBatcherOptions) {}

  /** Resolves after the batch holding this record is committed; rejects if that insert failed. */
  add(record: UsageRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = this.batch.get(record.requestId)
      if (entry) entry.waiters.push({ resolve, reject })
      else this.batch.set(record.requestId, { record, waiters: [{ resolve, reject }] })
      if (this.batch.size >= this.options.batchSize) void this.flush()
      else this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs)
    })
  }

  /** Distinct records waiting for a batch or for its commit. */
  get pending(): number {
    return this.batch.size + this.writing
  }

  /** Sends what is gathered now and waits for every insert under way (close uses it, so active jobs can finish). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.batch.size > 0) {
      // Sorted by request id: concurrent batches then take row locks in one order and cannot deadlock on a replay.
      const entries = [...this.batch.values()].sort((a, b) => (a.record.requestId < b.record.requestId ? -1 : 1))
      this.batch = new Map()
      this.writing += entries.length
      const run = this.write(entries).finally(() => {
        this.writing -= entries.length
        this.inserting.delete(run)
      })
      this.inserting.add(run)
    }
    await Promise.all(this.inserting)
  }

  private async write(entries: Entry[]): Promise<void> {
    const started = performance.now()
    let inserted: number
    try {
      inserted = await this.options.insert(entries.map((e) => e.record))
    } catch (error) {
      this.report({ records: entries.length, inserted: 0, ms: performance.now() - started, error })
      if (entries.length > 1 && this.options.isRecordError?.(error)) {
        const half = Math.ceil(entries.length / 2)
        await Promise.all([this.write(entries.slice(0, half)), this.write(entries.slice(half))])
        return
      }
      for (const entry of entries) for (const w of entry.waiters) w.reject(error)
      return
    }
    for (const entry of entries) for (const w of entry.waiters) w.resolve()
    this.report({ records: entries.length, inserted, ms: performance.now() - started })
  }

  /** A throwing observer must not turn a committed batch into a failed one. */
  private report(result: Parameters<NonNullable<UsageBatcherOptions['onBatch']>>[0]): void {
    try {
      this.options.onBatch?.(result)
    } catch {}
  }
}
