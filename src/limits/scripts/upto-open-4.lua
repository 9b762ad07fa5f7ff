--[[ upto-open-4: an x402 upto payment is admitted in one step, before it is verified or served: its payer's request
  bucket is charged (lib/payer-bucket; over the limit: nothing is claimed or written, the same payment may be sent
  again after Retry-After), its permit nonce is claimed (once per permit; a replay charges nothing, writes nothing),
  and its settlement material is written down with a lease and an entry in the sweeper's index, so that if this
  gateway dies before the finish settles it, a worker's upto sweeper settles the last checkpoint.
  Cluster: all four keys share the deployment's one x402 hash tag (src/x402/keys.ts says why not one per payer: the
  index has a fixed name, and the index entry must be written in this same call). The exact scheme's x402-claim-2
  uses the same nonce and bucket keys.
  KEYS[1] nonce    STRING  the permit's nonce claim -> the claiming request id (expires with the permit)
  KEYS[2] limits   HASH    rt, rts: the payer's request bucket (tokens, last refill ms)
  KEYS[3] pending  HASH    material (JSON) | state ("open" | "settling") | cost (nano-USD, from checkpoints) | attempts
  KEYS[4] due      ZSET    request id -> when a sweeper may look at it (ms): the owner's lease, a settle lease, a retry
  ARGV[1] request id    ARGV[2] nonce claim expiry (unix s)    ARGV[3] material (JSON)
  ARGV[4] lease expiry (ms)    ARGV[5] pending record expiry (unix s, after the permit's deadline)
  ARGV[6] now (ms)    ARGV[7] the payer's requests per minute (0: none)
  Returns { verdict, requests remaining, retry after ms }
  verdict: ok (claimed and written by this request, now or before) | replay (claimed by another) | rpm (over the limit)
]]
--#include lib/payer-bucket.lua
local holder = redis.call('GET', KEYS[1])
if holder then
  if holder == ARGV[1] then return { 'ok', 0, 0 } end
  return { 'replay', 0, 0 }
end
local left, retry = charge_payer(KEYS[2], tonumber(ARGV[6]), ARGV[6], tonumber(ARGV[7]))
if retry > 0 then return { 'rpm', 0, retry } end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
redis.call('HSET', KEYS[3], 'material', ARGV[3], 'state', 'open', 'attempts', 0)
redis.call('EXPIREAT', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
return { 'ok', left, 0 }
