// x402 upto payments awaiting settlement, in Redis: written with the nonce claim before a byte is served, checkpointed while the stream runs, taken once to settle (src/limits/scripts/upto-*.lua).
//
// Words:
//   pending    an upto payment claimed for a request and not settled yet: its material, state and last checkpoint
//   lease      until when its gateway vouches for it (renewed by each checkpoint); then a worker's sweeper may settle it
//   take       the one transition to "settling": whoever takes a payment (the finishing gateway, or a sweeper) is the
//              only one that calls the facilitator for it, so a settle happens at most once per payment
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import type { ScriptName, ScriptReply } from '../limits/scripts'
import { uptoDueKey, uptoPendingKey, x402NonceKey, x402PayerLimitsKey } from './keys'

/** What a worker needs to settle a payment whose gateway died, and to record it. */
export interface UptoMaterial {
  requestId: string
  /** As payment records name it: "POST /v1/chat/completions". */
  route: string
  payer: `0x${string}`
  /** The signed maximum, atomic units (decimal string). */
  maxAtomic: string
  /** The permit's deadline (unix s): no settle after it. */
  deadline: number
  startedAt: string
  payload: PaymentPayload
  /** The requirements as verified (amount = the signed maximum); a settle sends the amount it settles. */
  requirements: PaymentRequirements
  /** The route's markup (basis points) on the metered cost: what is settled is the cost plus it, rounded up once. */
  markupBps?: number
}

/** The admission's answer: claimed and written; a replay (nothing written); or the payer over its limit (nothing claimed). */
export type UptoOpened = { kind: 'claimed' } | { kind: 'replay' } | { kind: 'limited'; retryMs: number }

/** How the pending records reach Redis: the hot path's client or a worker's ioredis, same scripts. */
export interface PendingRedis {
  script(name: ScriptName, keys: string[], args: (string | number)[]): Promise<ScriptReply>
  command(name: string, args: (string | number)[]): Promise<unknown>
}

export type Taken =
  | { kind: 'taken'; material: UptoMaterial; /** null: never checkpointed */ costNano: bigint | null; attempts: number }
  | { kind: 'gone' }
  | { kind: 'busy'; dueAt: number }

export { uptoDueKey, uptoPendingKey } from './keys'

/** The pending record outlives the permit's deadline by this much (nothing can be settled after it anyway). */
const AFTER_DEADLINE_S = 3_600
/** A lease never runs past this long before the permit's deadline: a sweeper must still have time to settle. */
export const DEADLINE_MARGIN_MS = 30_000

/** The first retry of a settle that did not reach the facilitator; each next one waits twice as long, up to a minute. */
export const UPTO_RETRY_FIRST_MS = 1_000
export const UPTO_RETRY_MAX_MS = 60_000
export const retryDelayMs = (attempts: number) => Math.min(UPTO_RETRY_MAX_MS, UPTO_RETRY_FIRST_MS * 2 ** Math.max(0, Math.min(attempts - 1, 16)))

/** How long a taker has to settle before a sweeper may take the payment again: two facilitator timeouts and some. */
export const settleLeaseFor = (facilitatorTimeoutMs: number) => 2 * facilitatorTimeoutMs + 5_000

export class UptoPending {
  private readonly due: string

  constructor(
    private readonly redis: PendingRedis,
    private readonly prefix: string,
    /** How long a gateway's word lasts without a checkpoint (HOLD_TTL_MS). */
    private readonly leaseMs: number,
  ) {
    this.due = uptoDueKey(prefix)
  }

  /** A lease from now, cut short so that a sweeper can still settle before the permit's deadline. */
  leaseFrom(now: number, deadline: number): number {
    return Math.max(now, Math.min(now + this.leaseMs, deadline * 1000 - DEADLINE_MARGIN_MS))
  }

  /**
   * Charges the payer's request bucket, claims the permit's nonce and writes the payment down, in one round trip
   * (upto-open-4). When the answer is lost (a command timeout), one GET of the claim says whether it landed and whose it is.
   */
  async open(material: UptoMaterial, nonce: string, payerRpm = 0, now = Date.now()): Promise<UptoOpened> {
    const { requirements } = material
    const nonceKey = x402NonceKey(this.prefix, 'upto', requirements.network, requirements.asset, material.payer, nonce)
    const nowS = Math.floor(now / 1000)
    const keys = [nonceKey, x402PayerLimitsKey(this.prefix, material.payer), uptoPendingKey(this.prefix, material.requestId), this.due]
    try {
      const reply = (await this.redis.script('upto-open-4', keys, [
        material.requestId, Math.max(material.deadline, nowS + 1), JSON.stringify(material), this.leaseFrom(now, material.deadline), material.deadline + AFTER_DEADLINE_S, now, payerRpm,
      ])) as [string, number, number]
      if (reply[0] === 'rpm') return { kind: 'limited', retryMs: Number(reply[2]) }
      return reply[0] === 'ok' ? { kind: 'claimed' } : { kind: 'replay' }
    } catch (error) {
      const holder = await this.redis.command('GET', [nonceKey]).catch(() => {
        throw error
      })
      if (holder === null || holder === undefined) throw error
      return holder === material.requestId ? { kind: 'claimed' } : { kind: 'replay' }
    }
  }

  /** The stream's cost so far, and a renewed lease (fire and forget: a lost checkpoint leaves the previous one). */
  checkpoint(requestId: string, costNano: number, deadline: number, now = Date.now()): Promise<unknown> {
    return this.redis.script('upto-checkpoint-2', [uptoPendingKey(this.prefix, requestId), this.due], [requestId, costNano, this.leaseFrom(now, deadline)])
  }

  /** The finishing gateway (with the final cost) or a sweeper takes the payment to settle it; only one ever does at a time. */
  async take(requestId: string, how: { finish: bigint } | 'recover', settleLeaseMs: number, now = Date.now()): Promise<Taken> {
    const args: (string | number)[] = [requestId, now, settleLeaseMs, how === 'recover' ? 'recover' : 'finish', how === 'recover' ? '' : how.finish.toString()]
    const reply = (await this.redis.script('upto-take-2', [uptoPendingKey(this.prefix, requestId), this.due], args)) as (string | number)[]
    if (reply[0] === 'gone') return { kind: 'gone' }
    if (reply[0] === 'busy') return { kind: 'busy', dueAt: Number(reply[1]) }
    const cost = String(reply[2] ?? '')
    return { kind: 'taken', material: JSON.parse(String(reply[1])) as UptoMaterial, costNano: cost === '' ? null : BigInt(cost), attempts: Number(reply[3]) }
  }

  /** Given back after a settle that did not reach the facilitator: taken again (by a sweeper) from `at` (ms). */
  async retryAt(requestId: string, at: number): Promise<void> {
    await this.redis.script('upto-release-2', [uptoPendingKey(this.prefix, requestId), this.due], [requestId, 'retry', at])
  }

  /** Settled, or given up: the record and its index entry go (a payment not verified is dropped the same way). */
  async end(requestId: string): Promise<void> {
    await this.redis.script('upto-release-2', [uptoPendingKey(this.prefix, requestId), this.due], [requestId, 'end', 0])
  }

  /** Request ids a sweeper may look at now (their lease ran out), oldest first. */
  async dueNow(now: number, limit: number): Promise<string[]> {
    return (await this.redis.command('ZRANGEBYSCORE', [this.due, '-inf', now, 'LIMIT', 0, limit])) as string[]
  }
}
