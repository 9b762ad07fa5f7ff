// Claims a payment's authorization nonce in Redis (SET NX, expiring when the authorization does) so a payment is used once, replays and races included.
import type { HotRedis } from '../lib/hot-redis'
import type { Authorization } from './local-verify'

/** The longest a claim is kept, whatever validBefore says (a replay after that is refused by the chain's own nonce). */
const MAX_CLAIM_SECONDS = 30 * 86_400

/** EIP-3009 nonces are unique per token and payer: the key names the network, token, payer and nonce. */
export function nonceKey(prefix: string, network: string, asset: string, authorization: Pick<Authorization, 'from' | 'nonce'>): string {
  return `${prefix}:x402:nonce:${network}:${asset.toLowerCase()}:${authorization.from.toLowerCase()}:${authorization.nonce.toLowerCase()}`
}

/**
 * True: this request holds the nonce from now on; false: another request already did (a replay). Rejects when Redis
 * does not answer (the caller refuses the payment: an unclaimed nonce could be spent twice).
 */
export async function claimNonce(redis: Pick<HotRedis, 'send'>, key: string, validBefore: bigint, nowSeconds = Math.floor(Date.now() / 1000)): Promise<boolean> {
  const until = Math.min(Number(validBefore < BigInt(Number.MAX_SAFE_INTEGER) ? validBefore : BigInt(Number.MAX_SAFE_INTEGER)), nowSeconds + MAX_CLAIM_SECONDS)
  const reply = await redis.send('SET', [key, String(nowSeconds), 'NX', 'EXAT', Math.max(until, nowSeconds + 1)])
  return reply === 'OK'
}
