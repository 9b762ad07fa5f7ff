--[[ credit-1: a ledger credit committed in Postgres raises the Redis balance once, if that wallet is loaded.
  A wallet loaded after the credit already counted it: its watermark (the highest ledger id it read) says so.
  KEYS[1] wallet   HASH  loaded, avail, seq
  ARGV[1] amount (nano-USD)   ARGV[2] ledger id of the credit
  Returns 1 if applied, 0 if the wallet is not loaded or already includes it
]]
local w = redis.call('HMGET', KEYS[1], 'loaded', 'seq')
if w[1] ~= '1' or tonumber(ARGV[2]) <= tonumber(w[2] or '0') then return 0 end
redis.call('HINCRBY', KEYS[1], 'avail', ARGV[1])
redis.call('HSET', KEYS[1], 'seq', ARGV[2])
return 1
