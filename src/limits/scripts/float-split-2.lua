--[[ float-split-2: a request admitted from its gateway's float is about to be tracked (a stream's first checkpoint or
  slice): its part of the float becomes a hold of its own, with its own expiry, as if admit-8 had held it. The wallet's
  "held" already counts it. Sent before the checkpoint, on the same ordered connection.
  KEYS[1] holds    HASH  request or float id -> "<mode>:<nano-USD held>"
  KEYS[2] expiry   ZSET  id -> hold expiry (ms)
  ARGV[1] float id       ARGV[2] request id     ARGV[3] its part (nano-USD)     ARGV[4] now (ms)     ARGV[5] hold ttl (ms)
  Returns the nano-USD moved (less than asked only if the float had expired: the rest went back with it, and the
  request's settlement pays its cost in full, as for any expired hold)
]]
--#include lib/float.lua
local moved, mode = shrink_float(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[3]))
if moved <= 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], mode .. ':' .. string.format('%d', moved))
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]) + tonumber(ARGV[5]), ARGV[2])
return moved
