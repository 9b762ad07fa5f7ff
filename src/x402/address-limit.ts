// Unpaid requests to x402 routes counted per client address (x402-unpaid-1): before a payment there is no payer, so the address is the subject.
import { RateLimitError } from '../errors'
import type { HotRedis } from '../lib/hot-redis'

export interface UnpaidLimit {
  /** QUEUE_PREFIX. */
  prefix: string
  /** The client address (IPv6 by its /64, src/lib/client-address.ts); null: not known, not limited. */
  address: string | null
  /** Unpaid requests per minute per address (X402_UNPAID_RPM); 0: none. */
  rpm: number
}

/** True when the request carries a payment (v2 PAYMENT-SIGNATURE or v1 X-PAYMENT), whether or not it is valid. */
export const carriesPayment = (headers: Headers) => headers.has('payment-signature') || headers.has('x-payment')

/**
 * Throws a 429 (Retry-After) when the address is over its limit. One script call; when Redis cannot answer the
 * request goes on (no money is at stake before a payment: the 402 costs only our CPU).
 */
export async function limitUnpaid(redis: Pick<HotRedis, 'script'>, l: UnpaidLimit, nowMs = Date.now()): Promise<void> {
  if (l.rpm <= 0 || l.address === null) return
  const reply = await redis.script('x402-unpaid-1', [`${l.prefix}:{x402ip:${l.address}}:rl`], [nowMs, l.rpm]).catch(() => null)
  if (!reply || reply[0] !== 'rpm') return
  const seconds = Math.max(1, Math.ceil(Number(reply[1]) / 1000))
  throw new RateLimitError(`Too many unpaid x402 requests from your address: at most ${l.rpm} per minute before paying. Try again in ${seconds} s.`, seconds, {
    'x-ratelimit-limit-requests': String(l.rpm),
    'x-ratelimit-remaining-requests': '0',
  })
}
