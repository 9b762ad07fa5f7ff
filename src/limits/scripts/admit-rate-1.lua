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
--#include lib/buckets.lua
local now = tonumber(ARGV[1])
local rpm, tpm, charge = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

local rt, tt = read_buckets(KEYS[1], now, rpm, tpm)
local limited, retryMs = bucket_refusal(rt, tt, rpm, tpm, charge)
if limited then return bucket_reply(limited, rt, tt, rpm, tpm, retryMs, 0) end
rt, tt = charge_buckets(KEYS[1], now, rt, tt, rpm, tpm, charge)
return bucket_reply('ok', rt, tt, rpm, tpm, 0, 0)
