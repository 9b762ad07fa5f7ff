--[[ x402-claim-2: an x402 payment claimed once and its payer's request bucket charged, all or nothing, in one round trip.
  x402 requests carry no key: the payer (the address that signed the payment, checked locally before this) is the
  subject of a request bucket like admit-8's (limit per 60 s, refilled continuously). A payer over its limit is
  refused before the nonce is claimed, so the same payment may be sent again after Retry-After; a replay of a
  claimed nonce is refused without charging the bucket (nobody but the payer can spend the payer's requests).
  KEYS[1] nonce   STRING  the claimant's token (its request id), expiring when the authorization does
  KEYS[2] limits  HASH    rt, rts (the payer's request bucket tokens, last refill ms); same hash tag as KEYS[1]
  ARGV[1] token   ARGV[2] claim expiry (unix seconds, EXAT)   ARGV[3] now (ms)   ARGV[4] rpm (0: none)
  Returns { verdict, requests remaining, retry after ms }
  verdict: ok (claimed by this token, now or before) | replay (claimed by another) | rpm (over the payer's limit)
]]
local holder = redis.call('GET', KEYS[1])
if holder then
  if holder == ARGV[1] then return { 'ok', 0, 0 } end
  return { 'replay', 0, 0 }
end
local now, rpm = tonumber(ARGV[3]), tonumber(ARGV[4])
local left = 0
if rpm > 0 then
  local b = redis.call('HMGET', KEYS[2], 'rt', 'rts')
  local t = rpm
  if b[1] then
    t = tonumber(b[1]) + (now - tonumber(b[2])) * rpm / 60000
    if t > rpm then t = rpm end
  end
  if t < 1 then return { 'rpm', 0, math.ceil((1 - t) * 60000 / rpm) } end
  t = t - 1
  left = math.floor(t)
  -- As text: a Lua number can print as 1e+15, which HSET would store as is and tonumber still reads.
  redis.call('HSET', KEYS[2], 'rt', string.format('%.6f', t), 'rts', ARGV[3])
  redis.call('PEXPIRE', KEYS[2], 120000)
end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
return { 'ok', left, 0 }
