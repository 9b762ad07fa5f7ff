--[[ payer-bucket: an x402 payer's request bucket (rpm per 60 s, refilled continuously, like admit-8's), charged one
  request. charge_payer(key, now ms, now ms as text, rpm) returns left, retry: the requests left after this one and 0,
  or 0 and the ms until one is back (nothing charged). rpm 0: no limit, nothing stored.
]]
local function charge_payer(key, now, nowText, rpm)
  if rpm <= 0 then return 0, 0 end
  local b = redis.call('HMGET', key, 'rt', 'rts')
  local t = rpm
  if b[1] then
    t = tonumber(b[1]) + (now - tonumber(b[2])) * rpm / 60000
    if t > rpm then t = rpm end
  end
  if t < 1 then return 0, math.ceil((1 - t) * 60000 / rpm) end
  t = t - 1
  -- As text: a Lua number can print as 1e+15, which HSET would store as is and tonumber still reads.
  redis.call('HSET', key, 'rt', string.format('%.6f', t), 'rts', nowText)
  redis.call('PEXPIRE', key, 120000)
  return math.floor(t), 0
end
