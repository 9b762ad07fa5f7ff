// One upstream call's abort signal: first-byte and total timeouts plus the client going away, with the reason kept.

export type AbortReason = 'first_byte_timeout' | 'total_timeout' | 'client_gone'

export class UpstreamDeadline {
  private readonly controller = new AbortController()
  private firstByteTimer: ReturnType<typeof setTimeout> | null
  private totalTimer: ReturnType<typeof setTimeout> | null
  private readonly onClientAbort = () => this.abort('client_gone')
  reason: AbortReason | null = null

  constructor(
    firstByteTimeoutMs: number,
    totalTimeoutMs: number,
    private readonly clientSignal: AbortSignal | undefined,
  ) {
    this.firstByteTimer = setTimeout(() => this.abort('first_byte_timeout'), firstByteTimeoutMs)
    this.totalTimer = setTimeout(() => this.abort('total_timeout'), totalTimeoutMs)
    if (clientSignal) {
      if (clientSignal.aborted) this.abort('client_gone')
      else clientSignal.addEventListener('abort', this.onClientAbort, { once: true })
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  get timedOut(): boolean {
    return this.reason === 'first_byte_timeout' || this.reason === 'total_timeout'
  }

  /** The upstream produced its first byte: only the total timeout applies from now on. */
  firstByte(): void {
    if (this.firstByteTimer) {
      clearTimeout(this.firstByteTimer)
      this.firstByteTimer = null
    }
  }

  abort(reason: AbortReason): void {
    if (this.reason === null) this.reason = reason
    this.release()
    this.controller.abort()
  }

  /** The call is over: timers and the client listener go, so nothing outlives the request. */
  release(): void {
    if (this.firstByteTimer) clearTimeout(this.firstByteTimer)
    if (this.totalTimer) clearTimeout(this.totalTimer)
    this.firstByteTimer = this.totalTimer = null
    this.clientSignal?.removeEventListener('abort', this.onClientAbort)
  }
}
