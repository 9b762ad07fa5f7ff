--[[ lib/release-hold: included by scripts that end a hold without its gateway (expired, or swept as lost).
  Gives the hold back to where it came from, keeping `cost` of it: a prepaid wallet gets amount − cost back, a capped
  month's spend grows by cost. A request that paid something is marked settled, so a late settlement pays nothing more.
  releaseHold(wallet, holds, expiry, settled, id, entry, cost, now)
    entry: the holds field "<mode>:<nano-USD held>"; cost: nano-USD (0: nothing billed)
]]
local function releaseHold(wallet, holds, expiry, settled, id, entry, cost, now)
  local holdMode, amount = string.match(entry, '^(%a+):(%d+)$')
  amount = tonumber(amount)
  if holdMode == 'prepaid' or holdMode == 'cap' then
    redis.call('HINCRBY', wallet, 'held', string.format('%d', -amount))
    if holdMode == 'prepaid' then redis.call('HINCRBY', wallet, 'avail', string.format('%d', amount - cost)) end
    if holdMode == 'cap' and cost > 0 then redis.call('HINCRBY', wallet, 'spent', string.format('%d', cost)) end
  end
  if cost > 0 then redis.call('ZADD', settled, now, id) end
  redis.call('HDEL', holds, id)
  redis.call('ZREM', expiry, id)
end
