// An x402 payment claimed once and its payer's request limit charged in one Redis script call (x402-claim-2): x402 requests carry no key, so the payer is the subject.
import { RateLimitError } from '../errors'
import type { HotRedis } from '../lib/hot-redis'

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

/** One hash tag per payer: the nonce and the bucket in one Cluster slot, so one script call. */
export function payerClaimKeys(c: Pick<PayerClaim, 'prefix' | 'scheme' | 'network' | 'asset' | 'payer' | 'nonce'>): { nonce: string; limits: string } {
  const tag = `{x402:${c.payer.toLowerCase()}}`
  return { nonce: `${c.prefix}:${tag}:${c.scheme}:nonce:${c.network}:${c.asset.toLowerCase()}:${c.nonce.toLowerCase()}`, limits: `${c.prefix}:${tag}:rl` }
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
  if (verdict === 'rpm') {
    const seconds = Math.max(1, Math.ceil(retryMs / 1000))
    throw new RateLimitError(`Too many x402 requests from payer ${c.payer}: at most ${c.rpm} per minute. Try again in ${seconds} s (the same payment may be sent again).`, seconds, {
      'x-ratelimit-limit-requests': String(c.rpm),
      'x-ratelimit-remaining-requests': '0',
    })
  }
  return verdict === 'ok'
}
