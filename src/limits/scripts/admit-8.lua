--[[ admit-8: one request's admission, all or nothing, in one round trip.
  Request bucket (rpm) and token bucket (tpm) refill continuously (limit per 60 s); then the money check: a prepaid
  wallet hold, or a postpaid cap on (month's spend + open holds + this hold). Expired holds are released first, so a
  crashed gateway leaks nothing. Nothing changes unless everything passes (but a float given back, below).
  A stream's gateway later records what it has delivered beside the hold (checkpoint-4); such a hold is the hold
  sweeper's once it expires (see inspect-open-4), so the lazy release here skips it.
  KEYS[1] limits   HASH  rt, rts (request bucket tokens, last refill ms); tt, tts (token bucket)
  KEYS[2] wallet   HASH  loaded, avail, held, spent, month, seq (nano-USD as integers)
  KEYS[3] holds    HASH  request id -> "<mode>:<nano-USD held>"
  KEYS[4] expiry   ZSET  request id -> hold expiry (ms)
  KEYS[5] posted   HASH  request id -> cost already in Postgres that Redis has not settled (its gateway died)
  KEYS[6] settled  ZSET  request id -> when Redis settled it (so nothing pays twice)
  KEYS[7] open     HASH  request id -> its usage record so far (JSON): only read, to leave those holds alone
  KEYS[8] lineage  HASH  spent (nano-USD settled), h:<request id> -> nano-USD held: an end-user session lineage's
                         spend (same hash tag as the wallet); untouched without ARGV[11]
  ARGV[1] now (ms)       ARGV[2] rpm (0: none)       ARGV[3] tpm (0: none)     ARGV[4] tokens charged to tpm
  ARGV[5] money mode: none | prepaid | cap           ARGV[6] hold (nano-USD)   ARGV[7] cap (nano-USD)
  ARGV[8] month id (cap mode: the spend must be this month's)                  ARGV[9] request id
  ARGV[10] hold ttl (ms)     ARGV[11] the lineage's max_spend (nano-USD; empty: no lineage)
  ARGV[12] lineage key ttl (ms)
  A busy subject's gateway may also give back and take a float (src/limits/money-float.ts, lib/float.lua): the unused
  part of its old float goes back first, whatever the verdict (so its own refusals are exact); after an ok, a new float
  is held beside the request, at most a hundredth of what is left to hold, or none if that is less than its least.
  ARGV[13] the float to give back ('' none)        ARGV[14] its unused nano-USD
  ARGV[15] the new float's id ('' none)            ARGV[16] nano-USD wanted for it       ARGV[17] the least worth it
  ARGV[18] the new float's ttl (ms)
  Returns { verdict, rpm remaining, rpm ms until full, tpm remaining, tpm ms until full, retry after ms, money,
  nano-USD of the new float (0: none) }
  verdict: ok | rpm | tpm | tpm_too_large | load | insufficient_balance | spending_cap_reached | session_spend_limit
  money: prepaid: available nano-USD (after an ok, before a refusal); cap: spent + held; session_spend_limit: the
  lineage's spent + held; else 0
]]
--#include lib/release-hold.lua
--#include lib/buckets.lua
--#include lib/float.lua
local now = tonumber(ARGV[1])
local rpm, tpm, charge = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local mode, hold = ARGV[5], tonumber(ARGV[6])
local id = ARGV[9]
-- Integers as text for HINCRBY: a Lua number can print as -0 or 1e+15, which Redis refuses.
local function int(x) return string.format('%d', x) end

if ARGV[13] and ARGV[13] ~= '' then
  local back, floatMode = shrink_float(KEYS[3], KEYS[4], ARGV[13], tonumber(ARGV[14]))
  if back > 0 then
    redis.call('HINCRBY', KEYS[2], 'held', int(-back))
    if floatMode == 'prepaid' then redis.call('HINCRBY', KEYS[2], 'avail', int(back)) end
  end
end

local rt, tt = read_buckets(KEYS[1], now, rpm, tpm)
local function refused(verdict, retryMs, money)
  return bucket_reply(verdict, rt, tt, rpm, tpm, retryMs, money)
end
local limited, retryMs = bucket_refusal(rt, tt, rpm, tpm, charge)
if limited then return refused(limited, retryMs) end

-- Expired holds go back where they came from before anyone counts what is held. A hold whose request is already
-- billed in Postgres (the usage worker marked it posted) pays that cost from the hold instead: its gateway died
-- before settling, and giving the whole hold back would leave Redis richer than the ledger. A tracked request's hold
-- is the sweeper's: it first writes what was delivered, then releases the hold with that cost.
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 64)
for _, old in ipairs(expired) do
  if redis.call('HEXISTS', KEYS[7], old) == 0 then
    local entry = redis.call('HGET', KEYS[3], old)
    if entry then
      local cost = tonumber(redis.call('HGET', KEYS[5], old) or '0')
      releaseHold(KEYS[2], KEYS[3], KEYS[4], KEYS[6], old, entry, cost, now)
      redis.call('HDEL', KEYS[5], old)
    else
      redis.call('ZREM', KEYS[4], old)
    end
  end
end

local money = 0
if mode == 'prepaid' or mode == 'cap' then
  local w = redis.call('HMGET', KEYS[2], 'loaded', 'avail', 'held', 'spent', 'month')
  if w[1] ~= '1' or (mode == 'cap' and w[5] ~= ARGV[8]) then return refused('load', 0) end
  if mode == 'prepaid' then
    local avail = tonumber(w[2])
    if avail < hold then return refused('insufficient_balance', 0, avail) end
    money = avail - hold
  else
    local committed = tonumber(w[4]) + tonumber(w[3] or '0')
    if committed + hold > tonumber(ARGV[7]) then return refused('spending_cap_reached', 0, committed) end
    money = committed + hold
  end
end

-- A session lineage's max_spend: spent + held + this hold. A lineage hold whose wallet hold is gone was ended without
-- its gateway's settlement (expired, swept): what it paid is not known here, so all of it counts as spent (never over).
local lineageMax = ARGV[11] ~= '' and tonumber(ARGV[11]) or nil
if lineageMax then
  local fields = redis.call('HGETALL', KEYS[8])
  local spent, held, lost = 0, 0, 0
  for i = 1, #fields, 2 do
    local name, value = fields[i], tonumber(fields[i + 1])
    if name == 'spent' then spent = spent + value
    elseif redis.call('HEXISTS', KEYS[3], string.sub(name, 3)) == 1 then held = held + value
    else
      lost = lost + value
      redis.call('HDEL', KEYS[8], name)
    end
  end
  if lost > 0 then redis.call('HINCRBY', KEYS[8], 'spent', int(lost)) end
  spent = spent + lost
  if spent + held + hold > lineageMax then return refused('session_spend_limit', 0, spent + held) end
end

rt, tt = charge_buckets(KEYS[1], now, rt, tt, rpm, tpm, charge)
if mode == 'prepaid' or mode == 'cap' then
  redis.call('HSET', KEYS[3], id, mode .. ':' .. int(hold))
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[10]), id)
  redis.call('HINCRBY', KEYS[2], 'held', int(hold))
  if mode == 'prepaid' then redis.call('HINCRBY', KEYS[2], 'avail', int(-hold)) end
end
if lineageMax then
  redis.call('HSET', KEYS[8], 'h:' .. id, int(hold))
  redis.call('PEXPIRE', KEYS[8], tonumber(ARGV[12]))
end
local reply = bucket_reply('ok', rt, tt, rpm, tpm, 0, money)
reply[8] = 0
if ARGV[15] and ARGV[15] ~= '' and (mode == 'prepaid' or mode == 'cap') and not lineageMax then
  local room = mode == 'prepaid' and money or tonumber(ARGV[7]) - money
  local float = math.min(tonumber(ARGV[16]), math.floor(room / 100))
  if float >= tonumber(ARGV[17]) and float > 0 then
    redis.call('HSET', KEYS[3], ARGV[15], mode .. ':' .. int(float))
    redis.call('ZADD', KEYS[4], now + tonumber(ARGV[18]), ARGV[15])
    redis.call('HINCRBY', KEYS[2], 'held', int(float))
    if mode == 'prepaid' then redis.call('HINCRBY', KEYS[2], 'avail', int(-float)) end
    reply[8] = float
  end
end
return reply
