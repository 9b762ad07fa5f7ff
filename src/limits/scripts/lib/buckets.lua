--[[ buckets: the request bucket (rpm) and the token bucket (tpm) that admit-8 and admit-rate-1 charge, both refilled
  continuously (the limit per 60 s), kept in one hash: rt, rts (request tokens, last refill ms); tt, tts (tokens).
  read_buckets(key, now, rpm, tpm) returns rt, tt: each bucket refilled to now (0 for one with no limit).
  bucket_refusal(rt, tt, rpm, tpm, charge) returns nil when both let the request through, else the verdict
  (rpm | tpm | tpm_too_large) and the ms until retrying can help.
  charge_buckets(key, now, rt, tt, rpm, tpm, charge) takes the request and its tokens, stores both, returns rt, tt.
  bucket_reply(verdict, rt, tt, rpm, tpm, retryMs, money) is the admission scripts' reply.
]]
local function refill(tokens, stamp, capacity, now)
  if not tokens then return capacity end
  local t = tonumber(tokens) + (now - tonumber(stamp)) * capacity / 60000
  if t > capacity then return capacity end
  return t
end

local function untilFull(t, capacity)
  if capacity <= 0 then return 0 end
  return math.ceil((capacity - t) * 60000 / capacity)
end

local function read_buckets(key, now, rpm, tpm)
  local limits = redis.call('HMGET', key, 'rt', 'rts', 'tt', 'tts')
  local rt = rpm > 0 and refill(limits[1], limits[2], rpm, now) or 0
  local tt = tpm > 0 and refill(limits[3], limits[4], tpm, now) or 0
  return rt, tt
end

local function bucket_refusal(rt, tt, rpm, tpm, charge)
  if rpm > 0 and rt < 1 then return 'rpm', math.ceil((1 - rt) * 60000 / rpm) end
  if tpm > 0 then
    if charge > tpm then return 'tpm_too_large', 0 end
    if tt < charge then return 'tpm', math.ceil((charge - tt) * 60000 / tpm) end
  end
  return nil
end

local function charge_buckets(key, now, rt, tt, rpm, tpm, charge)
  if rpm > 0 then rt = rt - 1 end
  if tpm > 0 then tt = tt - charge end
  if rpm > 0 or tpm > 0 then
    redis.call('HSET', key, 'rt', string.format('%.6f', rt), 'rts', now, 'tt', string.format('%.6f', tt), 'tts', now)
  end
  return rt, tt
end

local function bucket_reply(verdict, rt, tt, rpm, tpm, retryMs, money)
  return { verdict, math.floor(rt), untilFull(rt, rpm), math.floor(tt), untilFull(tt, tpm), retryMs, money or 0 }
end
