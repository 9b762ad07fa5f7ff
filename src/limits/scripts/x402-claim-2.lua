--[[ x402-claim-2: an x402 exact payment claimed once and its payer's request bucket charged, all or nothing, in one
  round trip. x402 requests carry no key: the payer (the address that signed the payment, checked locally before
  this) is the subject of a request bucket (lib/payer-bucket). A payer over its limit is refused before the nonce is
  claimed, so the same payment may be sent again after Retry-After; a replay of a claimed nonce is refused without
  charging the bucket (nobody but the payer can spend the payer's requests). upto payments do the same in
  upto-open-4, with the same keys (src/x402/keys.ts: one hash tag, one Cluster slot).
  KEYS[1] nonce   STRING  the claimant's token (its request id), expiring when the authorization does
  KEYS[2] limits  HASH    rt, rts (the payer's request bucket tokens, last refill ms)
  ARGV[1] token   ARGV[2] claim expiry (unix seconds, EXAT)   ARGV[3] now (ms)   ARGV[4] rpm (0: none)
  Returns { verdict, requests remaining, retry after ms }
  verdict: ok (claimed by this token, now or before) | replay (claimed by another) | rpm (over the payer's limit)
]]
--#include lib/payer-bucket.lua
local holder = redis.call('GET', KEYS[1])
if holder then
  if holder == ARGV[1] then return { 'ok', 0, 0 } end
  return { 'replay', 0, 0 }
end
local left, retry = charge_payer(KEYS[2], tonumber(ARGV[3]), ARGV[3], tonumber(ARGV[4]))
if retry > 0 then return { 'rpm', 0, retry } end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
return { 'ok', left, 0 }
