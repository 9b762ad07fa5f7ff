--[[ upto-checkpoint-2: a live upto stream records its metered cost so far and renews its lease. Nothing happens once
  someone is settling the payment (or it is gone): a late checkpoint never reopens what a settle took.
  KEYS[1] pending  HASH  (see upto-open-4)
  KEYS[2] due      ZSET  request id -> when a sweeper may look at it (ms)
  ARGV[1] request id    ARGV[2] cost so far (nano-USD)    ARGV[3] lease expiry (ms)
  Returns 1 if recorded, 0 if the payment is being settled or gone
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'cost', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
