--[[ load-wallet-4: (re)builds a wallet from Postgres's numbers, unless another process already did.
  available = ledger balance − costs settled here but not yet in Postgres − open holds;
  spent (this month) = Postgres's month spend + costs not yet in Postgres.
  KEYS[1] wallet   HASH  loaded, avail, held, spent, month, seq
  KEYS[2] unposted HASH  request id -> cost (nano-USD)
  KEYS[3] posted   HASH  request id -> cost in Postgres not settled here: the balance read includes it, so the mark
                         goes and the request counts as settled (its hold is then simply released)
  KEYS[4] settled  ZSET  request id -> when it was settled
  ARGV[1] ledger balance (nano-USD)   ARGV[2] month spend (nano-USD)   ARGV[3] month id   ARGV[4] ledger watermark
  ARGV[5..] request ids Postgres already has: their unposted entries are stale and go
  An unposted cost whose settlement is no longer in "settled" (trimmed after a day) never reached Postgres in a day:
  its record was lost with the gateway that held it, the ledger never charged it, so the rebuild forgets it too.
  Returns 1 if it loaded the wallet, 0 if it was loaded already (for this month)
]]
for i = 5, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
local w = redis.call('HMGET', KEYS[1], 'loaded', 'month', 'held')
local pending = 0
if w[1] ~= '1' or w[2] ~= ARGV[3] then
  local unposted = redis.call('HGETALL', KEYS[2])
  for i = 1, #unposted, 2 do
    if redis.call('ZSCORE', KEYS[4], unposted[i]) then pending = pending + tonumber(unposted[i + 1])
    else redis.call('HDEL', KEYS[2], unposted[i]) end
  end
end
local spent = string.format('%d', tonumber(ARGV[2]) + pending)
if w[1] == '1' then
  if w[2] == ARGV[3] then return 0 end
  -- A new month: the spend starts again; the balance is Redis's own and stays.
  redis.call('HSET', KEYS[1], 'spent', spent, 'month', ARGV[3])
  return 1
end
local now = redis.call('TIME')
for _, id in ipairs(redis.call('HKEYS', KEYS[3])) do redis.call('ZADD', KEYS[4], tonumber(now[1]) * 1000, id) end
redis.call('DEL', KEYS[3])
local avail = tonumber(ARGV[1]) - pending - tonumber(w[3] or '0')
redis.call('HSET', KEYS[1], 'loaded', '1', 'avail', string.format('%d', avail), 'spent', spent, 'month', ARGV[3], 'seq', ARGV[4])
if not w[3] then redis.call('HSET', KEYS[1], 'held', '0') end
return 1
