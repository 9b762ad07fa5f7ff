--[[ admit-rate-1: admission by the rate limits alone, for a request with no money to check (money mode none, no
  session lineage): the request and token buckets of admit-8, and nothing else, in one round trip.
  admit-8 does the same for these requests, and also releases the subject's expired holds and reads its wallet: work
  that a request paying nothing does not need (the next admission that checks money releases them first), and eight
  keys a request spends bytes and Redis CPU on.
  KEYS[1] limits   HASH  rt, rts (request bucket tokens, last refill ms); tt, tts (token bucket)
  ARGV[1] now (ms)       ARGV[2] rpm (0: none)       ARGV[3] tpm (0: none)     ARGV[4] tokens charged to tpm
  Returns admit-8's reply: { verdict, rpm remaining, rpm ms until full, tpm remaining, tpm ms until full, retry after
  ms, 0 }, verdict ok | rpm | tpm | tpm_too_large
]]
local now = tonumber(ARGV[1])
local rpm, tpm, charge = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

local function refill(tokens, stamp, capacity)
  if not tokens then return capacity end
  local t = tonumber(tokens) + (now - tonumber(stamp)) * capacity / 60000
  if t > capacity then return capacity end
  return t
end
local function untilFull(t, capacity)
  if capacity <= 0 then return 0 end
  return math.ceil((capacity - t) * 60000 / capacity)
end

local limits = redis.call('HMGET', KEYS[1], 'rt', 'rts', 'tt', 'tts')
local rt = rpm > 0 and refill(limits[1], limits[2], rpm) or 0
local tt = tpm > 0 and refill(limits[3], limits[4], tpm) or 0
local function refused(verdict, retryMs)
  return { verdict, math.floor(rt), untilFull(rt, rpm), math.floor(tt), untilFull(tt, tpm), retryMs, 0 }
end

if rpm > 0 and rt < 1 then return refused('rpm', math.ceil((1 - rt) * 60000 / rpm)) end
if tpm > 0 then
  if charge > tpm then return refused('tpm_too_large', 0) end
  if tt < charge then return refused('tpm', math.ceil((charge - tt) * 60000 / tpm)) end
end

if rpm > 0 then rt = rt - 1 end
if tpm > 0 then tt = tt - charge end
redis.call('HSET', KEYS[1], 'rt', string.format('%.6f', rt), 'rts', now, 'tt', string.format('%.6f', tt), 'tts', now)
return { 'ok', math.floor(rt), untilFull(rt, rpm), math.floor(tt), untilFull(tt, tpm), 0, 0 }
