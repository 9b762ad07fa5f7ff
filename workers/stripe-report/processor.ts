// The stripe-report run: claim unreported usage into batches, then send due batches as meter events, rate-limited, with jittered backoff.
import type Stripe from 'stripe'
import {
  claimUnreported,
  markRefused,
  markRetry,
  markSent,
  takeDueBatches,
  type DueBatch,
  type MeterMode,
} from '../../src/db/queries/stripe-report'
import type { Sql } from '../../src/lib/db'
import type { Logger } from '../../src/lib/logger'

/**
 * In-process token bucket. Refills at 95% of `ratePerSecond` and holds at most 5% of it, so no one-second window ever
 * sees more than `ratePerSecond` calls (a full second of burst would allow twice that across a window boundary).
 */
export class TokenBucket {
  private tokens: number
  private last: number
  private readonly refillPerMs: number
  private readonly capacity: number
  constructor(
    ratePerSecond: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.capacity = Math.max(1, Math.floor(ratePerSecond * 0.05))
    this.refillPerMs = ((ratePerSecond - this.capacity) / 1000) || ratePerSecond / 2000
    this.tokens = this.capacity
    this.last = clock()
  }

  /** Resolves when a call may go. */
  async take(): Promise<void> {
    for (;;) {
      const now = this.clock()
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.refillPerMs)
      this.last = now
      if (this.tokens >= 1) {
        this.tokens -= 1
        return
      }
      await Bun.sleep(Math.max(1, Math.ceil((1 - this.tokens) / this.refillPerMs)))
    }
  }
}

export type SendOutcome = { kind: 'sent' } | { kind: 'retry'; error: string } | { kind: 'refused'; error: string }

/**
 * What a failed call means. 400/404: Stripe will never take this event as sent (a timestamp out of range, an unknown
 * customer or meter) → refused, a human adjusts it. Everything else (429, 5xx, 409, timeouts, dropped connections,
 * and 401/403, a key problem fixed by configuration) → retried later with the same identifier.
 */
export function classifyError(error: unknown): SendOutcome {
  const e = error as { statusCode?: number; code?: string; type?: string; message?: string }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : undefined
  // Stripe's message and code only: never the request, which carries the key in its headers.
  const text = `${status ?? e?.type ?? 'error'}${e?.code ? ` ${e.code}` : ''}: ${String(e?.message ?? error).slice(0, 300)}`
  if (status === 400 || status === 404) return { kind: 'refused', error: text }
  return { kind: 'retry', error: text }
}

/** Exponential backoff with jitter (half fixed, half random), so reporters that failed together do not retry together. */
export function backoffMs(attempts: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempts, 30))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

export interface ReporterOptions {
  sql: Sql
  stripe: Stripe
  logger: Logger
  mode: MeterMode
  spendEventName: string
  maxCallsPerSecond: number
  /** Usage rows per claim transaction. */
  claimLimit?: number
  /** Batches taken per send round. */
  sendChunk?: number
  /** Calls in flight at once. */
  concurrency?: number
  /** How long a taken batch is kept from other reporters; should exceed one call's timeout (with SDK retries). */
  leaseMs?: number
  backoffBaseMs?: number
  backoffCapMs?: number
  /** See ClaimOptions.pastMarginMs. */
  pastMarginMs?: number
  now?: () => number
}

export interface RunStats {
  claimedRows: number
  batches: number
  sent: number
  retried: number
  refused: number
}

export const REPORTER_DEFAULTS = {
  claimLimit: 5_000,
  sendChunk: 500,
  leaseMs: 60_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 5 * 60_000,
  pastMarginMs: 6 * 3_600_000,
}

export class StripeReporter {
  private readonly bucket: TokenBucket
  private readonly o: Required<ReporterOptions>

  constructor(options: ReporterOptions) {
    this.o = {
      ...REPORTER_DEFAULTS,
      concurrency: Math.min(64, options.maxCallsPerSecond),
      now: Date.now,
      ...stripUndefined(options),
    } as Required<ReporterOptions>
    this.bucket = new TokenBucket(this.o.maxCallsPerSecond)
  }

  /** Claims everything unreported (bounded transactions), then sends every batch that is due. */
  async runOnce(): Promise<RunStats> {
    const stats: RunStats = { claimedRows: 0, batches: 0, sent: 0, retried: 0, refused: 0 }
    for (;;) {
      const claimed = await claimUnreported(this.o.sql, {
        mode: this.o.mode,
        spendEventName: this.o.spendEventName,
        limit: this.o.claimLimit,
        now: this.o.now(),
        pastMarginMs: this.o.pastMarginMs,
      })
      stats.claimedRows += claimed.rows
      stats.batches += claimed.batches
      stats.refused += claimed.refused
      if (claimed.refused > 0) this.o.logger.warn('usage too old for Stripe flagged for manual adjustment', { batches: claimed.refused })
      if (claimed.rows < this.o.claimLimit) break
    }
    for (;;) {
      const due = await takeDueBatches(this.o.sql, this.o.sendChunk, this.o.leaseMs)
      if (due.length === 0) break
      await this.sendAll(due, stats)
    }
    return stats
  }

  private async sendAll(batches: DueBatch[], stats: RunStats): Promise<void> {
    let next = 0
    const lane = async () => {
      while (next < batches.length) {
        const batch = batches[next++]!
        const outcome = await this.send(batch)
        if (outcome.kind === 'sent') {
          await markSent(this.o.sql, batch.id)
          stats.sent++
        } else if (outcome.kind === 'refused') {
          await markRefused(this.o.sql, batch.id, outcome.error)
          stats.refused++
          this.o.logger.warn('Stripe refused a meter event; flagged for manual adjustment', { batch: batch.id, customer: batch.customer, error: outcome.error })
        } else {
          await markRetry(this.o.sql, batch.id, outcome.error, backoffMs(batch.attempts, this.o.backoffBaseMs, this.o.backoffCapMs))
          stats.retried++
          this.o.logger.debug('meter event not sent; retrying later', { batch: batch.id, attempts: batch.attempts + 1, error: outcome.error })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, batches.length) }, lane))
  }

  /** One call; the identifier doubles as the Idempotency-Key, so the SDK's own retries and ours are all one event. */
  private async send(batch: DueBatch): Promise<SendOutcome> {
    await this.bucket.take()
    try {
      await this.o.stripe.billing.meterEvents.create(
        {
          event_name: batch.event_name,
          payload: { stripe_customer_id: batch.customer, value: batch.value },
          identifier: batch.identifier,
          timestamp: Number(batch.event_timestamp),
        },
        { idempotencyKey: `meterway-${batch.identifier}` },
      )
      return { kind: 'sent' }
    } catch (error) {
      return classifyError(error)
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
