--[[ x402-unpaid-1: one unpaid request to an x402 route (a 402 to come) charged to its client address's request bucket.
  Before a payment there is no payer to count: the address is, so a client cannot make the gateway quote (tokenize,
  ask the facilitator's signer) without end. A bucket like admit-8's request bucket (limit per 60 s, refilled
  continuously); nothing changes when it is empty.
  KEYS[1] limits  HASH  rt, rts (tokens, last refill ms)
  ARGV[1] now (ms)   ARGV[2] rpm (> 0)
  Returns { verdict, retry after ms }   verdict: ok | rpm
]]
local now, rpm = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'rt', 'rts')
local t = rpm
if b[1] then
  t = tonumber(b[1]) + (now - tonumber(b[2])) * rpm / 60000
  if t > rpm then t = rpm end
end
if t < 1 then return { 'rpm', math.ceil((1 - t) * 60000 / rpm) } end
redis.call('HSET', KEYS[1], 'rt', string.format('%.6f', t - 1), 'rts', ARGV[1])
redis.call('PEXPIRE', KEYS[1], 120000)
return { 'ok', 0 }
