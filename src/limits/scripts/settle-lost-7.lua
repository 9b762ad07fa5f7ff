--[[ settle-lost-7: the hold sweeper wrote a tracked request to Postgres (or found it there); Redis pays that cost once.
  If the hold is still open and expired, it is released keeping the cost. If its gateway came back and kept the hold
  alive, the cost is marked posted instead, so that gateway's settlement pays it. If the gateway had settled (and
  died before sending the record), that settled cost is now in Postgres and leaves "unposted".
  KEYS[1] wallet   HASH  loaded, avail, held, spent
  KEYS[2] holds    HASH  request id -> "<mode>:<nano-USD held>"
  KEYS[3] expiry   ZSET  request id -> hold expiry (ms)
  KEYS[4] unposted HASH  request id -> cost settled here, not yet in Postgres
  KEYS[5] posted   HASH  request id -> cost in Postgres, not yet settled here
  KEYS[6] settled  ZSET  request id -> when it was settled
  KEYS[7] open     HASH  request id -> its usage record (JSON)
  ARGV[1] request id     ARGV[2] cost in Postgres (nano-USD)     ARGV[3] now (ms)
  Returns 'released' | 'posted' | 'cleared'
]]
--#include lib/release-hold.lua
local id, cost, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HDEL', KEYS[7], id)
local entry = redis.call('HGET', KEYS[2], id)
if entry then
  if tonumber(redis.call('ZSCORE', KEYS[3], id) or '0') > now then
    if cost > 0 then redis.call('HSET', KEYS[5], id, string.format('%d', cost)) end
    return 'posted'
  end
  releaseHold(KEYS[1], KEYS[2], KEYS[3], KEYS[6], id, entry, cost, now)
  redis.call('HDEL', KEYS[5], id)
  return 'released'
end
redis.call('HDEL', KEYS[4], id)
return 'cleared'
