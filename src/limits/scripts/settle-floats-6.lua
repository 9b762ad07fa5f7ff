--[[ settle-floats-6: finished requests a gateway held from its floats (src/limits/money-float.ts), settled together:
  settle-9's work for each one that never needed a hold of its own (untracked; no token limit, no session lineage),
  with the per-request calls merged. At most once per request, exactly as settle-9: a request already settled is
  skipped; a cost the usage worker already committed is the one paid.
  KEYS[1] wallet   HASH  loaded, avail, held, spent
  KEYS[2] holds    HASH  request or float id -> "<mode>:<nano-USD held>"
  KEYS[3] expiry   ZSET  id -> hold expiry (ms)
  KEYS[4] unposted HASH  request id -> cost (nano-USD) settled here and not yet in Postgres
  KEYS[5] posted   HASH  request id -> cost the usage worker committed before this settlement came
  KEYS[6] settled  ZSET  request id -> when it was settled; entries older than a day are trimmed
  ARGV[1] now (ms)
  ARGV[2..] five per request: request id, cost (nano-USD), money mode (prepaid | cap: its float's), the float it was
  held from, its part of that float
  Returns the number of requests settled now (the others already were)
]]
--#include lib/float.lua
local function int(x) return string.format('%d', x) end
local now = tonumber(ARGV[1])
local ids = {}
for i = 2, #ARGV, 5 do ids[#ids + 1] = ARGV[i] end
local unposted = redis.call('HMGET', KEYS[4], unpack(ids))
local settled = redis.call('ZMSCORE', KEYS[6], unpack(ids))
local posted = redis.call('HMGET', KEYS[5], unpack(ids))

local parts, costs, modes, floats = {}, {}, {}, {}
local marks, newCosts, postedIds = {}, {}, {}
local seen = {}
for n, id in ipairs(ids) do
  -- Settled already (an earlier settlement, or the same id twice in this call): nothing more.
  if not unposted[n] and not settled[n] and not seen[id] then
    seen[id] = true
    local at = 2 + (n - 1) * 5
    local cost, mode, float, part = tonumber(ARGV[at + 1]), ARGV[at + 2], ARGV[at + 3], tonumber(ARGV[at + 4])
    marks[#marks + 1] = now
    marks[#marks + 1] = id
    if posted[n] then
      cost = tonumber(posted[n])
      postedIds[#postedIds + 1] = id
    elseif cost > 0 then
      newCosts[#newCosts + 1] = id
      newCosts[#newCosts + 1] = int(cost)
    end
    if not parts[float] then
      parts[float], costs[float], modes[float] = 0, 0, mode
      floats[#floats + 1] = float
    end
    parts[float] = parts[float] + part
    costs[float] = costs[float] + cost
  end
end
if #marks == 0 then return 0 end
redis.call('ZADD', KEYS[6], unpack(marks))
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - 86400000)
if #postedIds > 0 then redis.call('HDEL', KEYS[5], unpack(postedIds)) end
-- Costs are remembered until the usage worker has them in Postgres (it removes them); a free request has none.
if #newCosts > 0 then redis.call('HSET', KEYS[4], unpack(newCosts)) end

-- Their parts of their floats are released (a float that expired went back whole: then less, and the costs are still
-- debited in full, as for any expired hold).
local held, availBack, spent = 0, 0, 0
for _, float in ipairs(floats) do
  local released = shrink_float(KEYS[2], KEYS[3], float, parts[float])
  held = held + released
  if modes[float] == 'prepaid' then availBack = availBack + released - costs[float] else spent = spent + costs[float] end
end
if held > 0 then redis.call('HINCRBY', KEYS[1], 'held', int(-held)) end
if redis.call('HGET', KEYS[1], 'loaded') == '1' then
  if availBack ~= 0 then redis.call('HINCRBY', KEYS[1], 'avail', int(availBack)) end
  if spent ~= 0 then redis.call('HINCRBY', KEYS[1], 'spent', int(spent)) end
end
return #marks / 2
