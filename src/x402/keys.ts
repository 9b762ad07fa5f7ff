// The Redis keys of x402 payments: nonce claims, payers' request buckets and upto payments awaiting settlement, all under one hash tag per deployment.
//
// Why one tag (and not one per payer): an upto payment's admission is ONE script call (upto-open-4) that claims the
// nonce, charges the payer's bucket and writes the pending record with its entry in the sweeper's index. The index
// is one sorted set the sweeper reads (ZRANGEBYSCORE), so it has a fixed name; for the script to stay Cluster-safe
// every key it touches must hash to the index's slot. A per-payer tag would split the payer's keys from the index,
// and the index entry would need a second round trip that a crash could separate from the claim. The price is that
// a deployment's x402 keys live on one Cluster node: a few small keys per request, far below what one node serves.
// The exact scheme (x402-claim-2) uses the same nonce and bucket keys, so a payer has one bucket whatever it pays with.

const tag = (prefix: string) => `{x402:${prefix}}`

/** A payment's nonce claim. Permit2 (upto) and EIP-3009 (exact) nonces are unique per owner: scheme, network, token, payer, nonce. */
export const x402NonceKey = (prefix: string, scheme: string, network: string, asset: string, payer: string, nonce: string) =>
  `${tag(prefix)}:${scheme}:nonce:${network}:${asset.toLowerCase()}:${payer.toLowerCase()}:${nonce.toLowerCase()}`
/** A payer's request bucket (X402_PAYER_RPM). */
export const x402PayerLimitsKey = (prefix: string, payer: string) => `${tag(prefix)}:rl:${payer.toLowerCase()}`
/** The sweeper's index of upto payments: request id -> when it may look at it (ms). */
export const uptoDueKey = (prefix: string) => `${tag(prefix)}:upto:due`
/** An upto payment awaiting settlement. */
export const uptoPendingKey = (prefix: string, requestId: string) => `${tag(prefix)}:upto:p:${requestId}`
