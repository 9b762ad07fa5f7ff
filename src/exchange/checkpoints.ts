// One timer for every live stream: each one that moved since its last checkpoint records its usage so far in Redis.

/** A stream that can checkpoint itself. */
export interface Checkpointable {
  /** Sends a checkpoint if anything changed since the last one. */
  checkpointIfMoved(): void
}

/**
 * Each interval is swept in this many turns, a share of the live streams each: all of them at once made one Redis batch
 * of 10,000 scripts a second, which every admission then waited behind, and which held all their records at once
 * (bench/run.ts --only memory: 10 KB of RSS per open stream).
 */
const TURNS = 10

/**
 * A timer per stream would be 10,000 timers at 10,000 streams; one sweep per turn over a share of the live set costs the
 * same Redis calls and no more. A stream joins when its first byte reaches the client, so it is checkpointed within one
 * interval of that, then every interval while it produces output, until it finishes.
 */
export class Checkpoints {
  /** The live streams, in TURNS shares; each is swept once an interval. */
  private readonly shares: Set<Checkpointable>[] = Array.from({ length: TURNS }, () => new Set())
  private readonly shareOf = new Map<Checkpointable, Set<Checkpointable>>()
  private next = 0
  private added = 0
  private timer: ReturnType<typeof setInterval> | null = null

  constructor(readonly intervalMs: number) {}

  add(stream: Checkpointable): void {
    // Round-robin: the shares stay even, so each turn sends about a tenth of the checkpoints.
    const share = this.shares[this.added++ % TURNS]!
    share.add(stream)
    this.shareOf.set(stream, share)
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs / TURNS)
      // Checkpoints never keep a stopping process alive.
      this.timer.unref?.()
    }
  }

  remove(stream: Checkpointable): void {
    const share = this.shareOf.get(stream)
    if (!share) return
    share.delete(stream)
    this.shareOf.delete(stream)
    if (this.shareOf.size === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = null
    }
  }

  private tick(): void {
    const share = this.shares[this.next]!
    this.next = (this.next + 1) % TURNS
    for (const stream of share) stream.checkpointIfMoved()
  }
}
