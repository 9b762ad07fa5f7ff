// One timer for every live stream: each one that moved since its last checkpoint records its usage so far in Redis.

/** A stream that can checkpoint itself. */
export interface Checkpointable {
  /** Sends a checkpoint if anything changed since the last one. */
  checkpointIfMoved(): void
}

/**
 * A timer per stream would be 10,000 timers at 10,000 streams; one sweep a second over the live set costs the same
 * Redis calls and no more. A stream joins when its first byte reaches the client, so it is checkpointed within one
 * interval of that, then every interval while it produces output, until it finishes.
 */
export class Checkpoints {
  private readonly live = new Set<Checkpointable>()
  private timer: ReturnType<typeof setInterval> | null = null

  constructor(readonly intervalMs: number) {}

  add(stream: Checkpointable): void {
    this.live.add(stream)
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs)
      // Checkpoints never keep a stopping process alive.
      this.timer.unref?.()
    }
  }

  remove(stream: Checkpointable): void {
    this.live.delete(stream)
    if (this.live.size === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = null
    }
  }

  private tick(): void {
    for (const stream of this.live) stream.checkpointIfMoved()
  }
}
