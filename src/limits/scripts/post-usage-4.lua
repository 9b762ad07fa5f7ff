--[[ post-usage-4: the usage worker committed these requests to Postgres; Redis forgets what it kept for them.
  Settled requests' costs leave "unposted". A request Redis has not settled yet (its gateway may have died) gets a
  "posted" mark instead, which its late settlement or its expiring hold honours, so the cost is paid exactly once.
  Its open record (the copy kept against a gateway crash) goes either way.
  KEYS[1] unposted HASH  request id -> cost settled in Redis, not yet in Postgres
  KEYS[2] posted   HASH  request id -> cost in Postgres, not yet settled in Redis
  KEYS[3] settled  ZSET  request id -> when it was settled
  KEYS[4] open     HASH  request id -> its usage record (JSON)
  ARGV    request id, cost (Postgres's; 0: nothing to pay), request id, cost, …
  Returns the number of posted marks written
]]
local marked = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  redis.call('HDEL', KEYS[4], id)
  if redis.call('HDEL', KEYS[1], id) == 0 and tonumber(ARGV[i + 1]) > 0 and not redis.call('ZSCORE', KEYS[3], id) then
    redis.call('HSET', KEYS[2], id, ARGV[i + 1])
    marked = marked + 1
  end
end
return marked
