// One upstream call's abort signal: first-byte and total timeouts plus the client going away, with the reason kept.
import { endCall, ownSignal } from '../lib/call-end'

export type AbortReason = 'first_byte_timeout' | 'total_timeout' | 'client_gone'

/**
 * The reason a finished request's signal fires with: made once, since aborting without one builds a DOMException
 * (with its stack) on every request, ~20 µs measured with bun --cpu-prof-md.
 */
const FINISHED = new Error('the request finished')

/** How often live deadlines are checked: a timeout fires at most this late. */
const TICK_MS = 50

/**
 * A request's client is watched from the first check after it has lasted this long: one answered sooner never has Bun
 * build its AbortSignal and listener (3.1 µs of a JSON request's 57: bench:ab --method prepaid). Bun keeps the abort on
 * the request, so a signal first read after the client left is already aborted; a client that leaves earlier is seen
 * at most two ticks late, the upstream call then aborted as before.
 */
const WATCH_CLIENT_AFTER_MS = TICK_MS

/** Where a request's client leaving is seen: the Request (Bun makes its `signal` only when it is first read). */
export interface ClientConnection {
  readonly signal: AbortSignal
}

/**
 * Every live deadline, checked by one shared timer: two timers set and cleared per request cost more than a sweep
 * over the live set (measured with bench/run.ts), and 10,000 streams are a few tens of µs per tick.
 */
const live = new Set<UpstreamDeadline>()
let clock: ReturnType<typeof setInterval> | null = null

function tick(): void {
  const now = performance.now()
  for (const deadline of live) deadline.check(now)
}

function watch(deadline: UpstreamDeadline): void {
  live.add(deadline)
  if (!clock) {
    clock = setInterval(tick, TICK_MS)
    // Deadlines never keep a stopping process alive.
    clock.unref?.()
  }
}

function unwatch(deadline: UpstreamDeadline): void {
  live.delete(deadline)
  if (live.size === 0 && clock) {
    clearInterval(clock)
    clock = null
  }
}

export class UpstreamDeadline {
  private readonly controller = new AbortController()
  /** performance.now() by which the first byte must have come (Infinity once it did). */
  private firstByteBy: number
  private readonly totalBy: number
  /** The client, until it is watched (or let go); performance.now() from which it is. */
  private client: ClientConnection | undefined
  private watchClientFrom: number
  /** The client's signal while this deadline listens to it (this object is the listener: no closure per request). */
  private clientSignal: AbortSignal | undefined
  reason: AbortReason | null = null

  constructor(firstByteTimeoutMs: number, totalTimeoutMs: number, client: ClientConnection | undefined) {
    const now = performance.now()
    this.firstByteBy = now + firstByteTimeoutMs
    this.totalBy = now + totalTimeoutMs
    this.client = client
    this.watchClientFrom = client ? now + WATCH_CLIENT_AFTER_MS : Number.POSITIVE_INFINITY
    ownSignal(this.controller.signal)
    watch(this)
  }

  /** The client's signal fired (EventListener). */
  handleEvent(): void {
    this.abort('client_gone')
  }

  /**
   * The client's leaving is seen elsewhere from now on (a stream's own cancel, which aborts this deadline): its signal
   * is let go rather than kept for the stream's whole life, an AbortSignal and a listener a stream.
   */
  unwatchClient(): void {
    this.client = undefined
    this.watchClientFrom = Number.POSITIVE_INFINITY
    this.clientSignal?.removeEventListener('abort', this)
    this.clientSignal = undefined
  }

  /** The request has lasted long enough for its client's leaving to be worth a listener (or it has left already). */
  private watchClient(): void {
    const client = this.client
    this.client = undefined
    this.watchClientFrom = Number.POSITIVE_INFINITY
    if (!client) return
    const signal = client.signal
    if (signal.aborted) {
      this.abort('client_gone')
      return
    }
    this.clientSignal = signal
    signal.addEventListener('abort', this, { once: true })
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  get timedOut(): boolean {
    return this.reason === 'first_byte_timeout' || this.reason === 'total_timeout'
  }

  /** The upstream produced its first byte: only the total timeout applies from now on. */
  firstByte(): void {
    this.firstByteBy = Number.POSITIVE_INFINITY
  }

  check(now: number): void {
    if (now >= this.firstByteBy) this.abort('first_byte_timeout')
    else if (now >= this.totalBy) this.abort('total_timeout')
    else if (now >= this.watchClientFrom) this.watchClient()
  }

  abort(reason: AbortReason): void {
    if (this.reason === null) this.reason = reason
    this.release()
    endCall(this.controller.signal)
    this.controller.abort()
  }

  /** The call is over: the clock and the client listener let go, so nothing outlives the request. */
  release(): void {
    unwatch(this)
    this.unwatchClient()
  }

  /**
   * The request ended: whatever the call holds (an upstream pool slot) lets go. A call whose answer was read to its end
   * is over already; any other is aborted, which closes its upstream connection.
   */
  end(answerReadToEnd: boolean): void {
    this.release()
    endCall(this.controller.signal)
    if (!answerReadToEnd && !this.controller.signal.aborted) this.controller.abort(FINISHED)
  }
}
