--[[ extend-hold-4: a prepaid stream without max_tokens asks for its next slice; it gets what the wallet can cover.
  The stream is checkpointed in the same call (its first slice starts tracking it), so a crash loses at most what
  streamed since.
  KEYS[1] wallet   HASH  loaded, avail, held
  KEYS[2] holds    HASH  request id -> "prepaid:<nano-USD held>"
  KEYS[3] expiry   ZSET  request id -> hold expiry (ms)
  KEYS[4] open     HASH  request id -> its usage record so far (JSON)
  ARGV[1] request id     ARGV[2] wanted (nano-USD)     ARGV[3] now (ms)     ARGV[4] hold ttl (ms)
  ARGV[5] checkpoint: the usage record so far (JSON)
  Returns { granted nano-USD (0: nothing left, or no such hold), available after }
]]
-- Integers as text for HINCRBY: a Lua number can print as -0 or 1e+15, which Redis refuses.
local function int(x) return string.format('%d', x) end
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry or redis.call('HGET', KEYS[1], 'loaded') ~= '1' then return { 0, 0 } end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
local avail = tonumber(redis.call('HGET', KEYS[1], 'avail'))
local granted = tonumber(ARGV[2])
if granted > avail then granted = avail end
if granted < 0 then granted = 0 end
local held = tonumber(string.match(entry, ':(%d+)$')) + granted
redis.call('HSET', KEYS[2], ARGV[1], 'prepaid:' .. int(held))
redis.call('ZADD', KEYS[3], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
redis.call('HINCRBY', KEYS[1], 'held', int(granted))
return { granted, redis.call('HINCRBY', KEYS[1], 'avail', int(-granted)) }
