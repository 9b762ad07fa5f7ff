--[[ settle-9: a finished request pays: its hold is released, the actual cost debited (prepaid) or added to the
  month's spend (cap), and the token bucket corrected from the estimate to what was used. At most once per request.
  KEYS[1] limits   HASH  tt (token bucket tokens)
  KEYS[2] wallet   HASH  loaded, avail, held, spent
  KEYS[3] holds    HASH  request id -> "<mode>:<nano-USD held>"
  KEYS[4] expiry   ZSET  request id -> hold expiry (ms)
  KEYS[5] unposted HASH  request id -> cost (nano-USD) settled here and not yet in Postgres
  KEYS[6] posted   HASH  request id -> cost the usage worker committed before this settlement came
  KEYS[7] settled  ZSET  request id -> when it was settled; entries older than a day are trimmed
  KEYS[8] open     HASH  request id -> its usage record (JSON) until Postgres has it
  KEYS[9] lineage  HASH  spent, h:<request id> -> held: the session lineage's (see admit-8); untouched if it has no entry
  ARGV[1] request id     ARGV[2] cost (nano-USD)     ARGV[3] money mode: none | prepaid | cap
  ARGV[4] tpm (0: none)  ARGV[5] tokens charged at admission                ARGV[6] tokens used
  ARGV[7] now (ms)       ARGV[8] the final usage record (JSON; empty when the request is not tracked)
  Returns { 1 if settled now (0 if it already was), prepaid available or cap spend after (0 otherwise) }
]]
local id, cost, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
-- Integers as text for HINCRBY: a Lua number can print as -0 or 1e+15, which Redis refuses.
local function int(x) return string.format('%d', x) end
local now = tonumber(ARGV[7])
if redis.call('HEXISTS', KEYS[5], id) == 1 or redis.call('ZSCORE', KEYS[7], id) then return { 0, 0 } end
redis.call('ZADD', KEYS[7], now, id)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - 86400000)

local tpm = tonumber(ARGV[4])
if tpm > 0 then
  local tt = tonumber(redis.call('HGET', KEYS[1], 'tt') or tpm) + tonumber(ARGV[5]) - tonumber(ARGV[6])
  if tt > tpm then tt = tpm end
  redis.call('HSET', KEYS[1], 'tt', string.format('%.6f', tt))
end

-- Postgres is the truth: if the usage worker already committed this request (from a record the sweeper wrote, or
-- one that overtook this settlement), its cost is the one paid, and the open record has served its purpose.
local postedCost = redis.call('HGET', KEYS[6], id)
if postedCost then
  cost = tonumber(postedCost)
  redis.call('HDEL', KEYS[6], id)
  redis.call('HDEL', KEYS[8], id)
elseif ARGV[8] ~= '' and redis.call('HEXISTS', KEYS[8], id) == 1 then
  -- Until Postgres has it, the final record waits here too: if the gateway dies before its queue sends it, the sweeper does.
  redis.call('HSET', KEYS[8], id, ARGV[8])
end

local held = 0
local entry = redis.call('HGET', KEYS[3], id)
if entry then
  held = tonumber(string.match(entry, ':(%d+)$'))
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  if mode == 'prepaid' or mode == 'cap' then redis.call('HINCRBY', KEYS[2], 'held', int(-held)) end
end
-- The lineage's hold becomes the cost actually paid (an entry admit-8 already counted as lost stays counted in full).
if redis.call('HEXISTS', KEYS[9], 'h:' .. id) == 1 then
  redis.call('HDEL', KEYS[9], 'h:' .. id)
  redis.call('HINCRBY', KEYS[9], 'spent', int(cost))
end
if mode ~= 'prepaid' and mode ~= 'cap' then return { 1, 0 } end
-- A hold that expired was already given back: the cost is still owed, so it is debited in full.
local after = 0
if redis.call('HGET', KEYS[2], 'loaded') == '1' then
  if mode == 'prepaid' then
    after = redis.call('HINCRBY', KEYS[2], 'avail', int(held - cost))
  else
    after = redis.call('HINCRBY', KEYS[2], 'spent', int(cost))
  end
end
-- Costs are remembered until the usage worker has them in Postgres (it removes them); a free request has none.
if not postedCost and cost > 0 then redis.call('HSET', KEYS[5], id, int(cost)) end
return { 1, after }
