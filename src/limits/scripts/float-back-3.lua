--[[ float-back-3: a gateway gives back what a float of its held and no request took (a float past its use, or the
  gateway stopping). The requests it admitted from the float still take their parts out as they settle.
  KEYS[1] wallet   HASH  avail, held
  KEYS[2] holds    HASH  request or float id -> "<mode>:<nano-USD held>"
  KEYS[3] expiry   ZSET  id -> hold expiry (ms)
  ARGV[1] float id       ARGV[2] nano-USD given back
  Returns the nano-USD given back (0: the float had expired already, and went back whole)
]]
--#include lib/float.lua
local back, mode = shrink_float(KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[2]))
if back > 0 then
  redis.call('HINCRBY', KEYS[1], 'held', string.format('%d', -back))
  if mode == 'prepaid' then redis.call('HINCRBY', KEYS[1], 'avail', string.format('%d', back)) end
end
return back
