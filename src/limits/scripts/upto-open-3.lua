--[[ upto-open-3: an x402 upto payment is claimed and written down for settlement in one step, before it is verified or
  served: its permit nonce is claimed (once per permit, replays refused) and its settlement material is kept with a
  lease, so that if this gateway dies before the finish settles it, a worker's upto sweeper settles the last checkpoint.
  All three keys share one hash tag (src/x402/upto-pending.ts), so one Cluster slot.
  KEYS[1] nonce    STRING  the permit's nonce claim -> the claiming request id (expires with the permit)
  KEYS[2] pending  HASH    material (JSON) | state ("open" | "settling") | cost (nano-USD, from checkpoints) | attempts
  KEYS[3] due      ZSET    request id -> when a sweeper may look at it (ms): the owner's lease, a settle lease, a retry
  ARGV[1] request id    ARGV[2] nonce claim expiry (unix s)    ARGV[3] material (JSON)
  ARGV[4] lease expiry (ms)    ARGV[5] pending record expiry (unix s, after the permit's deadline)
  Returns 1 if claimed and written, 0 if the nonce was claimed already (nothing written)
]]
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EXAT', ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], 'material', ARGV[3], 'state', 'open', 'attempts', 0)
redis.call('EXPIREAT', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
