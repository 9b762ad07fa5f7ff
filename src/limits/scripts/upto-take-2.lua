--[[ upto-take-2: the one transition to "settling" that makes a settle happen at most once per payment. The gateway
  finishing its request takes a payment that is still open (its own); a sweeper takes one whose lease (the owner's, a
  settle's, or a retry's wait) has run out. Whoever takes it calls the facilitator, then ends it (upto-release-2 "end") or gives
  it back for a later retry (upto-release-2); a taker that dies is replaced when its settle lease runs out.
  KEYS[1] pending  HASH  (see upto-open-4)
  KEYS[2] due      ZSET  request id -> when a sweeper may look at it (ms)
  ARGV[1] request id    ARGV[2] now (ms)    ARGV[3] settle lease (ms)
  ARGV[4] "finish" or "recover"    ARGV[5] finish only: the final cost (nano-USD)
  Returns {"taken", material, cost ("" if never checkpointed), attempts} | {"gone"} | {"busy", due at (ms)}
]]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'gone'}
end
local dueAt = redis.call('ZSCORE', KEYS[2], ARGV[1])
if ARGV[4] == 'finish' then
  if state ~= 'open' then return {'busy', dueAt or '0'} end
  redis.call('HSET', KEYS[1], 'cost', ARGV[5])
elseif dueAt and tonumber(dueAt) > tonumber(ARGV[2]) then
  return {'busy', dueAt}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'state', 'settling')
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])
return {'taken', redis.call('HGET', KEYS[1], 'material'), redis.call('HGET', KEYS[1], 'cost') or '', attempts}
