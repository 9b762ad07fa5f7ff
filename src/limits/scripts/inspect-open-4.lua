--[[ inspect-open-4: the hold sweeper looks at one tracked request whose gateway may have died. Reads only.
  KEYS[1] holds    HASH  request id -> "<mode>:<nano-USD held>"
  KEYS[2] expiry   ZSET  request id -> hold expiry (ms)
  KEYS[3] open     HASH  request id -> its usage record so far (JSON)
  KEYS[4] unposted HASH  request id -> cost settled here, not yet in Postgres
  ARGV[1] request id     ARGV[2] now (ms)
  Returns { 'gone' }                 Postgres has it (or it never was): nothing to do
          { 'live', expiry ms }      its gateway still keeps the hold alive: look again then
          { 'lost', record }         the hold expired: its gateway died; the record is its last checkpoint
          { 'unwritten', record }    settled here, but Postgres never got the record (its gateway died before
                                     sending it): the record is the final one
]]
local record = redis.call('HGET', KEYS[3], ARGV[1])
if not record then return { 'gone' } end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  local expiry = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')
  if expiry > tonumber(ARGV[2]) then return { 'live', expiry } end
  return { 'lost', record }
end
return { 'unwritten', record }
