--[[ upto-release-2: a taker whose settle could not reach the facilitator gives the payment back, to be taken again at
  the retry time; or a settled (or given up) payment is ended: its record and index entry go.
  KEYS[1] pending  HASH  (see upto-open-4)
  KEYS[2] due      ZSET  request id -> when a sweeper may look at it (ms)
  ARGV[1] request id    ARGV[2] "retry" or "end"    ARGV[3] retry only: when to look again (ms)
  Returns 1 if done, 0 if the payment was gone (or, for a retry, not being settled)
]]
if ARGV[2] == 'end' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return redis.call('DEL', KEYS[1])
end
if redis.call('HGET', KEYS[1], 'state') ~= 'settling' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'open')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
