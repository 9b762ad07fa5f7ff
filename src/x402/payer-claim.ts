// An x402 exact payment claimed once and its payer's request limit charged in one Redis script call (x402-claim-2): x402 requests carry no key, so the payer is the subject (upto: upto-open-4, src/x402/upto-pending.ts).
import { RateLimitError } from '../errors'
import type { HotRedis } from '../lib/hot-redis'
import { x402NonceKey, x402PayerLimitsKey } from './keys'

/** The longest a claim is kept, whatever the authorization says (a replay after that is refused by the chain's own nonce). */
const MAX_CLAIM_SECONDS = 30 * 86_400

export interface PayerClaim {
  /** QUEUE_PREFIX: the gateway's keys. */
  prefix: string
  /** The nonce space: the scheme (exact: EIP-3009 nonces, upto: Permit2's), whichever route the payment came by. */
  scheme: string
  network: string
  asset: string
  payer: string
  nonce: string
  /** validBefore (exact) or the permit's deadline (upto), unix seconds. */
  until: bigint
  /** The claimant's token: its request id. */
  token: string
  /** Requests per minute per payer; 0: none. */
  rpm: number
}

/** The nonce and the payer's bucket (src/x402/keys.ts: the deployment's x402 tag, one Cluster slot; upto-open-4 uses the same). */
export function payerClaimKeys(c: Pick<PayerClaim, 'prefix' | 'scheme' | 'network' | 'asset' | 'payer' | 'nonce'>): { nonce: string; limits: string } {
  return { nonce: x402NonceKey(c.prefix, c.scheme, c.network, c.asset, c.payer, c.nonce), limits: x402PayerLimitsKey(c.prefix, c.payer) }
}

/** The 429 of a payer over X402_PAYER_RPM: nothing was claimed, the same payment may be sent again. */
export function payerLimitError(payer: string, rpm: number, retryMs: number): RateLimitError {
  const seconds = Math.max(1, Math.ceil(retryMs / 1000))
  return new RateLimitError(`Too many x402 requests from payer ${payer}: at most ${rpm} per minute. Try again in ${seconds} s (the same payment may be sent again).`, seconds, {
    'x-ratelimit-limit-requests': String(rpm),
    'x-ratelimit-remaining-requests': '0',
  })
}

/**
 * True: this request holds the nonce from now on; false: another request already did (a replay). Throws a 429
 * (RateLimitError, Retry-After) when the payer is over its limit: nothing is claimed then. Rejects with Redis's error
 * when it cannot say (the caller refuses the payment: an unclaimed nonce could be spent twice); a lost answer is
 * asked again, which says "ok" if the first call claimed it (the token is ours).
 */
export async function claimForPayer(redis: Pick<HotRedis, 'script'>, c: PayerClaim, nowMs = Date.now()): Promise<boolean> {
  const keys = payerClaimKeys(c)
  const nowSeconds = Math.floor(nowMs / 1000)
  const until = Math.min(Number(c.until < BigInt(Number.MAX_SAFE_INTEGER) ? c.until : BigInt(Number.MAX_SAFE_INTEGER)), nowSeconds + MAX_CLAIM_SECONDS)
  const args = [c.token, Math.max(until, nowSeconds + 1), nowMs, c.rpm]
  const reply = await redis.script('x402-claim-2', [keys.nonce, keys.limits], args).catch(() => redis.script('x402-claim-2', [keys.nonce, keys.limits], args))
  const [verdict, , retryMs] = reply as [string, number, number]
  if (verdict === 'rpm') throw payerLimitError(c.payer, c.rpm, retryMs)
  return verdict === 'ok'
}
