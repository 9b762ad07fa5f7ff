--[[ lease-rate-1: up to N requests of a subject's request bucket (rpm) taken at once, for a gateway that admits them
  itself (src/limits/rate-lease.ts): requests with nothing to check but the request rate (no money, no token limit,
  no session lineage). What a gateway took and did not use it gives back with its next lease, in the same call.
  The same bucket admit-rate-1 and admit-8 charge: never more requests than the limit in all, whichever gateway
  admits them; only the token fields (tt, tts) are left as they are.
  KEYS[1] limits   HASH  rt, rts (request bucket tokens, last refill ms)
  ARGV[1] now (ms)       ARGV[2] rpm (> 0)          ARGV[3] requests wanted (>= 1)
  ARGV[4] requests given back (taken earlier, unused)
  Returns admit-8's reply with the count granted last: { verdict, rpm remaining, rpm ms until full, 0, 0, retry
  after ms, granted }, verdict ok (granted >= 1) | rpm (granted 0)
]]
--#include lib/buckets.lua
local now = tonumber(ARGV[1])
local rpm, wanted, back = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

local rt = read_buckets(KEYS[1], now, rpm, 0) + back
if rt > rpm then rt = rpm end
local granted = math.min(wanted, math.floor(rt))
if granted < 1 then
  if back > 0 then redis.call('HSET', KEYS[1], 'rt', string.format('%.6f', rt), 'rts', now) end
  return bucket_reply('rpm', rt, 0, rpm, 0, math.ceil((1 - rt) * 60000 / rpm), 0)
end
rt = rt - granted
redis.call('HSET', KEYS[1], 'rt', string.format('%.6f', rt), 'rts', now)
return bucket_reply('ok', rt, 0, rpm, 0, 0, granted)
