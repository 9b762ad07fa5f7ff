--[[ reverse-1: takes back up to an amount from a loaded wallet's available balance, never below zero, once per claim.
  Runs before the matching ledger row is written (a refund reverses what the wallet still has, and holds race it); the
  claim remembers what was taken, so a retry after a failed ledger write takes the same amount again, not more.
  KEYS[1] wallet   HASH  loaded, avail, r:<claim> (amounts taken by reversals)
  ARGV[1] amount wanted (nano-USD, >= 0)   ARGV[2] claim (the ledger reference the row will carry)
  Returns the amount taken (nano-USD, as text), or -1 if the wallet is not loaded (load it, then run again)
]]
local w = redis.call('HMGET', KEYS[1], 'loaded', 'avail', 'r:' .. ARGV[2])
if w[3] then return w[3] end
if w[1] ~= '1' then return -1 end
local avail = tonumber(w[2] or '0')
local want = tonumber(ARGV[1])
local take = want
if avail < take then take = avail end
if take < 0 then take = 0 end
local taken = string.format('%d', take)
redis.call('HINCRBY', KEYS[1], 'avail', '-' .. taken)
redis.call('HSET', KEYS[1], 'r:' .. ARGV[2], taken)
return taken
