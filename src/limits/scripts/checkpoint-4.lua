--[[ checkpoint-4: a streaming gateway records what it has delivered so far beside the request's hold, and keeps the
  hold alive. The first checkpoint starts tracking (a request without money gets a hold of 0 for it); nothing happens
  once the request is settled (a late checkpoint must not bring back what settlement removed).
  KEYS[1] holds    HASH  request id -> "<mode>:<nano-USD held>"
  KEYS[2] expiry   ZSET  request id -> hold expiry (ms)
  KEYS[3] open     HASH  request id -> its usage record so far (JSON)
  KEYS[4] settled  ZSET  request id -> when it was settled
  ARGV[1] request id     ARGV[2] the usage record so far (JSON)     ARGV[3] now (ms)     ARGV[4] hold ttl (ms)
  Returns 1 if recorded, 0 if the request is settled already
]]
if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then redis.call('HSET', KEYS[1], ARGV[1], 'none:0') end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
return 1
