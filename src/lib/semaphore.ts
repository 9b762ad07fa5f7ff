// A counting semaphore with a bounded, abortable FIFO wait: who gets a slot, who waits, and who gave up.

interface Waiter {
  grant: () => void
  /** Set once the waiter timed out or was aborted; the queue skips it. */
  gone: boolean
}

/** Why acquire() gave up; a slot was never taken. */
export type NoSlot = 'timeout' | 'aborted'

export class Semaphore {
  private inUse = 0
  private readonly queue: Waiter[] = []
  // Index of the first live entry: shifting a 10,000-entry array per grant would be O(n) each time.
  private head = 0
  private waitingCount = 0

  constructor(private limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`)
  }

  get active(): number {
    return this.inUse
  }

  get waiting(): number {
    return this.waitingCount
  }

  get size(): number {
    return this.limit
  }

  /** Takes a slot at once if one is free. */
  tryAcquire(): boolean {
    if (this.inUse >= this.limit || this.waitingCount > 0) return false
    this.inUse++
    return true
  }

  /**
   * Resolves null once a slot is held, or the reason it gave up: nothing free within `waitMs`, or `signal` fired.
   * Waiters are served in arrival order; a free slot never jumps the queue.
   */
  acquire(waitMs: number, signal?: AbortSignal): Promise<NoSlot | null> {
    if (signal?.aborted) return Promise.resolve('aborted')
    if (this.tryAcquire()) return Promise.resolve(null)
    if (waitMs <= 0) return Promise.resolve('timeout')
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const onAbort = () => giveUp('aborted')
      const waiter: Waiter = {
        gone: false,
        grant: () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          resolve(null)
        },
      }
      const giveUp = (reason: NoSlot) => {
        if (waiter.gone) return
        waiter.gone = true
        this.waitingCount--
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(reason)
      }
      timer = setTimeout(() => giveUp('timeout'), waitMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.queue.push(waiter)
      this.waitingCount++
    })
  }

  /** Returns a slot; the oldest live waiter, if any, gets it. */
  release(): void {
    // Above a lowered limit, a returned slot shrinks the pool instead of passing to a waiter.
    if (this.inUse > this.limit) {
      this.inUse--
      return
    }
    while (this.head < this.queue.length) {
      const next = this.queue[this.head++]!
      if (next.gone) continue
      next.gone = true
      this.waitingCount--
      this.compact()
      next.grant()
      return
    }
    this.compact()
    if (this.inUse > 0) this.inUse--
  }

  /** Changes the limit; slots above a lowered limit drain as they are released, new room goes to waiters at once. */
  resize(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`)
    this.limit = limit
    while (this.inUse < this.limit && this.waitingCount > 0) {
      this.inUse++
      this.release()
    }
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
  }
}
