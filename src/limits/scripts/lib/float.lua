--[[ lib/float: a gateway's float (src/limits/money-float.ts) is a hold entry like a request's, "<mode>:<nano-USD>",
  shared by the requests that gateway admitted from it; each takes its part out as it ends.
  shrink_float(holds, expiry, id, amount) takes up to `amount` out of float `id` (all that is left if it has less; the
  entry goes once it is empty) and returns what it took and the float's mode (0, nil if there is no such float). The
  caller moves what was taken out of the wallet's "held".
]]
local function shrink_float(holds, expiry, id, amount)
  local entry = redis.call('HGET', holds, id)
  if not entry then return 0, nil end
  local mode, left = string.match(entry, '^(%a+):(%d+)$')
  left = tonumber(left)
  if amount > left then amount = left end
  left = left - amount
  if left <= 0 then
    redis.call('HDEL', holds, id)
    redis.call('ZREM', expiry, id)
  else
    redis.call('HSET', holds, id, mode .. ':' .. string.format('%d', left))
  end
  return amount, mode
end
