--[[ credit-1: a ledger credit committed in Postgres raises the Redis balance once, if that wallet is loaded.
  A wallet loaded after the credit already counted it: its watermark (the highest ledger id it read) says so. Credits
  above the watermark are marked one by one, because their Redis steps may arrive in any order (a retried credit
  after a later one), so a watermark alone would drop the earlier one.
  KEYS[1] wallet   HASH  loaded, avail, seq, c:<ledger id> (credits applied since the wallet was loaded)
  ARGV[1] amount (nano-USD)   ARGV[2] ledger id of the credit
  Returns 1 if applied, 0 if the wallet is not loaded or already includes it
]]
local w = redis.call('HMGET', KEYS[1], 'loaded', 'seq')
if w[1] ~= '1' or tonumber(ARGV[2]) <= tonumber(w[2] or '0') then return 0 end
if redis.call('HSETNX', KEYS[1], 'c:' .. ARGV[2], '1') == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'avail', ARGV[1])
return 1
