--[[ checkpoint-3: a streaming gateway records what it has delivered so far, and keeps its hold alive.
  Nothing happens once the request is settled (a late checkpoint must not bring back what settlement removed).
  KEYS[1] holds    HASH  request id -> "<mode>:<nano-USD held>"
  KEYS[2] expiry   ZSET  request id -> hold expiry (ms)
  KEYS[3] open     HASH  request id -> its usage record so far (JSON)
  ARGV[1] request id     ARGV[2] the usage record so far (JSON)     ARGV[3] now (ms)     ARGV[4] hold ttl (ms)
  Returns 1 if recorded, 0 if the request is no longer open
]]
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 or redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
return 1
