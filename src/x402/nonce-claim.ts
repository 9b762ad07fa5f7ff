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
 * True: this request holds the nonce from now on; false: another request already did (a replay). The claim's value is
 * the claimant's own token (its request id): when the SET's answer is lost (a Redis command timeout while the process
 * was busy), one GET says whether it landed and whose it is. Rejects when Redis cannot say (the caller refuses the
 * payment: an unclaimed nonce could be spent twice).
 */
export async function claimNonce(redis: Pick<HotRedis, 'send'>, key: string, token: string, validBefore: bigint, nowSeconds = Math.floor(Date.now() / 1000)): Promise<boolean> {
  const until = Math.min(Number(validBefore < BigInt(Number.MAX_SAFE_INTEGER) ? validBefore : BigInt(Number.MAX_SAFE_INTEGER)), nowSeconds + MAX_CLAIM_SECONDS)
  try {
    return (await redis.send('SET', [key, token, 'NX', 'EXAT', Math.max(until, nowSeconds + 1)])) === 'OK'
  } catch (error) {
    const holder = await redis.send('GET', [key]).catch(() => {
      throw error
    })
    if (holder === null || holder === undefined) throw error
    return holder === token
  }
}
