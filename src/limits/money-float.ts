// A busy wallet's or cap's float: money one gateway holds in Redis as one hold, from which it admits requests without a round trip.
import type { HotRedis } from '../lib/hot-redis'
import type { Logger } from '../lib/logger'
import type { MoneyMode } from './admission'
import { subjectKeys } from './keys'

/** A float is sized to what this subject's requests held in this long. */
const FLOAT_SPAN_MS = 20
/** Requests are admitted from a float only this long after Redis granted it; then it goes back with the next call. */
export const FLOAT_USE_MS = 100
/** The most requests' holds one float is sized for. */
const MAX_FLOAT_REQUESTS = 256
/** A float is worth taking only if it covers this many requests like the one that asks (fewer: each asks Redis). */
const MIN_FLOAT_REQUESTS = 4
/** Subjects whose float state is kept; past this the quiet ones are forgotten (their floats are given back first). */
const MAX_SUBJECTS = 10_000

/** One float granted in Redis: a hold entry named `id` in the subject's holds, shrunk by each settlement it paid for. */
export class Float {
  /** Nano-USD not yet taken by a request: given back when the float is retired. */
  unused: bigint
  /** Given back (its unused money) and admitting no more: only its requests' settlements touch it now. */
  retired = false
  constructor(
    readonly id: string,
    readonly mode: MoneyMode,
    /** What the requests it admits must carry: a float granted under one cap (or month) admits nothing under another. */
    readonly capNano: bigint | null,
    readonly month: string,
    readonly grantedNano: bigint,
    /** performance.now() when the grant was read: later than Redis granted it, so the float's use ends early, never late. */
    readonly grantedAt: number,
  ) {
    this.unused = grantedNano
  }

  usable(now: number): boolean {
    return now - this.grantedAt < FLOAT_USE_MS
  }
}

/** One subject's floats on this gateway. A class: one per busy subject, touched on every request. */
class FloatState {
  current: Float | null = null
  /** A direct admission that may grant the next float is out: requests arriving meanwhile wait for it. */
  pending: Promise<unknown> | null = null
  /** Requests waiting for that admission's float: the next float is sized for them too. */
  waiting = 0
  /** Requests seen in the FLOAT_SPAN_MS since `since` (performance.now()), and in the span before: how a float is sized. */
  arrivals = 0
  before = 0
  since = 0

  count(now: number): void {
    if (now - this.since >= FLOAT_SPAN_MS) {
      this.before = now - this.since < 2 * FLOAT_SPAN_MS ? this.arrivals : 0
      this.arrivals = 0
      this.since = now
    }
    this.arrivals++
  }

  /** Requests of about the last span (the current one so far, and the one before). */
  recent(): number {
    return this.arrivals + this.before
  }
}

/** What a direct admission asks of admit-8 beside the request's own hold: a float to give back, one to take. */
export interface FloatPlan {
  backId: string
  backNano: bigint
  newId: string
  wantNano: bigint
  minNano: bigint
}

export const NO_PLAN: FloatPlan = { backId: '', backNano: 0n, newId: '', wantNano: 0n, minNano: 0n }

/**
 * A cap is never passed and a wallet never goes below zero: a float is a hold like any request's, granted by admit-8
 * only within the wallet's balance or the cap's room (and at most a hundredth of it), and the requests admitted from
 * it hold no more than it has left. Their settlements shrink its entry in Redis (settle-floats-6, a subject's gathered
 * into one call); a request that lives long enough to be tracked first moves its part into a hold of its own
 * (float-split-2), and settles by settle-9 as any other. What this costs: money a float
 * holds and no request has taken is unavailable to other gateways until it goes back (with this gateway's next
 * direct admission for the subject, FLOAT_USE_MS after it was granted at most, or when its hold expires if this
 * gateway died). A direct admission gives this gateway's float back before it checks, so one gateway's refusals are
 * exactly as without floats. A quiet subject never gets one: each request is admitted by its own hold, as before.
 */
export class MoneyFloats {
  private readonly states = new Map<string, FloatState>()
  /** Gives back floats past their use while any is out (one timer for all subjects). */
  private timer: ReturnType<typeof setInterval> | null = null

  constructor(
    private readonly redis: HotRedis,
    private readonly logger: Logger,
  ) {}

  /** Returns the float that now holds the request's money, or null (wait for the one on its way, or admit directly with plan()); `arrival` counts the request. */
  take(subject: string, mode: MoneyMode, capNano: bigint | null, month: string, holdNano: bigint, arrival: boolean): Float | null {
    const state = this.state(subject)
    const now = performance.now()
    if (arrival) state.count(now)
    const float = state.current
    if (!float || float.unused < holdNano || float.mode !== mode || float.capNano !== capNano || float.month !== month || !float.usable(now)) return null
    float.unused -= holdNano
    return float
  }

  /** A request taken from a float was refused after all (its rate): its part goes back to the float, or to Redis if the float was retired. */
  untake(subject: string, float: Float, holdNano: bigint): void {
    if (!float.retired) float.unused += holdNano
    else this.giveBack(subject, float.id, holdNano)
  }

  hasPending(subject: string): boolean {
    return !!this.states.get(subject)?.pending
  }

  /** Waits for the direct admission out for this subject, if one is (its float may cover this request); false if none was out. */
  async waitForPending(subject: string): Promise<boolean> {
    const state = this.states.get(subject)
    if (!state?.pending) return false
    state.waiting++
    try {
      await state.pending.catch(() => {})
    } finally {
      state.waiting--
    }
    return true
  }

  /**
   * What the next direct admission asks beside its own hold: the current float back (retired: its unused money is
   * given back, and only its requests' settlements touch it from now), and a new one sized to this subject's recent
   * requests. Nothing when a float is already on its way.
   */
  plan(subject: string, holdNano: bigint): FloatPlan {
    const state = this.state(subject)
    if (state.pending || holdNano <= 0n) return NO_PLAN
    const old = state.current
    state.current = null
    // Sized to this subject's requests of the last span, and those already waiting for it.
    const requests = Math.min(MAX_FLOAT_REQUESTS, state.recent() + state.waiting)
    const back = old && old.unused > 0n ? { backId: old.id, backNano: old.unused } : { backId: '', backNano: 0n }
    if (old) retire(old)
    if (requests < MIN_FLOAT_REQUESTS) return { ...back, newId: '', wantNano: 0n, minNano: 0n }
    return { ...back, newId: `float:${crypto.randomUUID()}`, wantNano: BigInt(requests) * holdNano, minNano: BigInt(MIN_FLOAT_REQUESTS) * holdNano }
  }

  /** Marks a direct admission out (its promise settles when admit-8 answered). */
  setPending(subject: string, pending: Promise<unknown>): void {
    const state = this.state(subject)
    state.pending = pending
    void pending.then(
      () => state.pending === pending && (state.pending = null),
      () => state.pending === pending && (state.pending = null),
    )
  }

  /** admit-8 granted a float (0: none). */
  granted(subject: string, plan: FloatPlan, grantedNano: bigint, mode: MoneyMode, capNano: bigint | null, month: string): void {
    if (plan.newId === '' || grantedNano <= 0n) return
    const state = this.state(subject)
    state.current = new Float(plan.newId, mode, capNano, month, grantedNano, performance.now())
    this.timer ??= setInterval(() => this.giveBackStale(), FLOAT_USE_MS)
    this.timer.unref?.()
  }

  /**
   * A tracked request needs a hold of its own (the sweeper settles it by its id if this gateway dies): its part of the
   * float moves into one, ahead of its checkpoint on the same ordered connection.
   */
  split(subject: string, float: Float, requestId: string, holdNano: bigint, holdTtlMs: number): void {
    const keys = subjectKeys(subject)
    this.redis.script('float-split-2', [keys.holds, keys.holdExpiry], [float.id, requestId, holdNano.toString(), Date.now(), holdTtlMs], 'later').catch((error: Error) =>
      this.logger.warn('float part not split off; the float holds it until its expiry', { requestId, error: error.message }),
    )
  }

  /** A stopping gateway gives back every float's unused money (what its requests hold settles as they end). */
  async returnAll(): Promise<void> {
    this.stopTimer()
    const back: Promise<unknown>[] = []
    for (const [subject, state] of this.states) {
      const float = state.current
      state.current = null
      if (!float || float.unused <= 0n) continue
      const keys = subjectKeys(subject)
      back.push(this.redis.script('float-back-3', [keys.wallet, keys.holds, keys.holdExpiry], [float.id, float.unused.toString()]))
      retire(float)
    }
    await Promise.allSettled(back)
  }

  /** Floats past their use go back, so a subject that went quiet does not keep money from other gateways. */
  private giveBackStale(): void {
    const now = performance.now()
    let left = false
    for (const [subject, state] of this.states) {
      const float = state.current
      if (!float) continue
      if (float.usable(now) || state.pending) {
        left = true
        continue
      }
      state.current = null
      if (float.unused > 0n) this.giveBack(subject, float.id, float.unused)
      retire(float)
    }
    if (!left) this.stopTimer()
  }

  /** What a float holds and no request took goes back to the wallet (or the cap's room). A failure leaves it to the float's expiry. */
  private giveBack(subject: string, floatId: string, nano: bigint): void {
    const keys = subjectKeys(subject)
    this.redis.script('float-back-3', [keys.wallet, keys.holds, keys.holdExpiry], [floatId, nano.toString()], 'later').catch((error: Error) =>
      this.logger.warn('float not given back; it goes back when its hold expires', { floatId, nano: nano.toString(), error: error.message }),
    )
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private state(subject: string): FloatState {
    let state = this.states.get(subject)
    if (!state) {
      // A bound, not a cache policy: only subjects without a float (or one on its way) are dropped.
      if (this.states.size >= MAX_SUBJECTS) for (const [s, st] of this.states) if (!st.current && !st.pending) this.states.delete(s)
      state = new FloatState()
      this.states.set(subject, state)
    }
    return state
  }
}

function retire(float: Float): void {
  float.unused = 0n
  float.retired = true
}
