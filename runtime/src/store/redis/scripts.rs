//! The Lua scripts that make each check one atomic round trip (sent as EVALSHA, with the
//! script loaded on a NOSCRIPT answer).
//!
//! Numbers travel as decimal strings; Lua's doubles hold epoch microseconds (< 2^53)
//! exactly. `string.format('%d', ...)` keeps large integers out of Lua's `%.14g` notation.

use redis::Script;

/// KEYS[1] counter; ARGV limit, expiry (epoch ms or ''). Returns {1, new} or {0, current}.
const INCR_IF_BELOW: &str = r"
local current = redis.call('GET', KEYS[1])
local n = 0
if current then
  n = tonumber(current)
  if n == nil then return redis.error_reply('WRONGTYPE not a counter') end
end
if n >= tonumber(ARGV[1]) then return {0, n} end
n = redis.call('INCR', KEYS[1])
if not current and ARGV[2] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return {1, n}
";

/// KEYS[1] counter; ARGV delta, expiry (epoch ms or ''). Returns the new value.
const ADD_COUNTER: &str = r"
local existed = redis.call('EXISTS', KEYS[1])
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and ARGV[2] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return n
";

/// KEYS[1] record; ARGV value, expiry (epoch ms or ''). Replaces counters and records alike.
const PUT_RECORD: &str = r"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1])
if ARGV[2] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return 1
";

/// GCRA, as `store/bucket.rs::gcra`. KEYS[1] bucket; ARGV interval µs, tolerance µs, now µs.
/// Returns {1, 0} when a token was taken, {0, wait µs} when the bucket is empty.
const TAKE_TOKEN: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  tat = tonumber(stored)
  if tat == nil then return redis.error_reply('WRONGTYPE not a token bucket') end
  if tat < now then tat = now end
end
local new_tat = tat + interval
local ahead = new_tat - now
if ahead > tolerance then return {0, math.ceil(ahead - tolerance)} end
new_tat = math.ceil(new_tat)
redis.call('SET', KEYS[1], string.format('%d', new_tat))
redis.call('PEXPIREAT', KEYS[1], string.format('%d', math.ceil(new_tat / 1000)))
return {1, 0}
";

/// A batch of admissions, each as `store/admit.rs::admit_in_order`, run strictly in order.
///
/// KEYS: every distinct key of the batch, once. ARGV[1]: how many distinct step lists the
/// batch has (requests with one API key share one); then each list: its step count and
/// four per step: the key's index into KEYS, kind (`w` watch, `t` take, `q` quota, `u`
/// usage) and two numbers (take: interval µs, tolerance µs; quota: limit, expiry; usage:
/// delta, expiry; watch: ''); then two per admission: its list's number and now µs. Each
/// key is read once (one MGET; EXISTS tells an absent key from one of another type),
/// updated in Lua locals, and each changed key written once at the end with its expiry —
/// so N admissions on one API key cost one script and a handful of calls, not N times
/// each step's own, and send two arguments each.
///
/// Returns one string: per admission six integers `status step value quota_used usage_ok
/// watched` (quota used and watched -1 when absent, usage ok 1/0), admissions separated by
/// `,`: one bulk string is cheaper to reply and to parse than nested arrays. Status 0
/// admitted, 1 throttled at step (value = wait µs), 2 quota at limit (value = count), 3
/// step's key holds another type (nothing more of that admission ran).
const ADMIT: &str = r"
local value, odd, expiry, dirty = {}, {}, {}, {}
local stored = redis.call('MGET', unpack(KEYS))
for k = 1, #KEYS do
  local v = stored[k]
  if v then
    value[k] = tonumber(v)
    if value[k] == nil then odd[k] = 'nan' end
  elseif redis.call('EXISTS', KEYS[k]) == 1 then
    -- MGET answers nil for a key of another type: it is a record, not a counter.
    odd[k] = 'type'
  end
end
-- The step lists, numbers parsed once: steps j = first[t] .. first[t] + count[t] - 1.
local first, count, key, kind, a, b = {}, {}, {}, {}, {}, {}
local pos, j = 2, 0
for t = 1, tonumber(ARGV[1]) do
  local steps = tonumber(ARGV[pos])
  first[t], count[t] = j + 1, steps
  for at = pos + 1, pos + 4 * steps, 4 do
    j = j + 1
    local op = ARGV[at + 1]
    key[j], kind[j] = tonumber(ARGV[at]), op
    if op == 't' then
      a[j], b[j] = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
    elseif op ~= 'w' then
      a[j], b[j] = tonumber(ARGV[at + 2]), ARGV[at + 3]
    end
  end
  pos = pos + 1 + 4 * steps
end
local answers = {}
for i = pos, #ARGV, 2 do
  local t = tonumber(ARGV[i])
  local now = tonumber(ARGV[i + 1])
  local status, step, result, quota_used, usage_ok, watched = 0, -1, 0, -1, 1, -1
  local base = first[t] - 1
  for s = 1, count[t] do
    j = base + s
    local k, op = key[j], kind[j]
    local bad = odd[k]
    if op == 'w' then
      if bad == nil then
        watched = value[k] or 0
      elseif bad == 'nan' then
        watched = -1
      end
    elseif op == 'u' then
      if bad then
        usage_ok = 0
      else
        local n = (value[k] or 0) + a[j]
        value[k] = n
        dirty[k] = true
        -- The delta is positive: a counter that now equals it was just created (or held
        -- 0), and gets the expiry its day key always has.
        if n == a[j] and b[j] ~= '' then expiry[k] = b[j] end
      end
    elseif bad then
      status, step = 3, s - 1
      break
    elseif op == 't' then
      local tat = value[k] or now
      if tat < now then tat = now end
      local new_tat = tat + a[j]
      local ahead = new_tat - now
      if ahead > b[j] then
        status, step, result = 1, s - 1, math.ceil(ahead - b[j])
        break
      end
      new_tat = math.ceil(new_tat)
      value[k] = new_tat
      dirty[k] = true
      -- A number (ms), formatted once at the end, however many admissions take a token.
      expiry[k] = math.ceil(new_tat / 1000)
    elseif op == 'q' then
      local n = value[k] or 0
      if n >= a[j] then
        status, step, result = 2, s - 1, n
        break
      end
      -- Only the step that creates the counter gives it an expiry; INCR keeps a live one's.
      if value[k] == nil and b[j] ~= '' then expiry[k] = b[j] end
      value[k] = n + 1
      dirty[k] = true
      quota_used = n + 1
    end
  end
  answers[#answers + 1] = string.format('%d %d %d %d %d %d',
    status, step, result, quota_used, usage_ok, watched)
end
for k in pairs(dirty) do
  local v = string.format('%d', value[k])
  local at = expiry[k]
  if at then
    if type(at) == 'number' then at = string.format('%d', at) end
    redis.call('SET', KEYS[k], v, 'PXAT', at)
  else
    redis.call('SET', KEYS[k], v, 'KEEPTTL')
  end
end
return table.concat(answers, ',')
";

/// The compiled scripts (each hashed once).
pub(super) struct Scripts {
    pub(super) incr_if_below: Script,
    pub(super) add_counter: Script,
    pub(super) put_record: Script,
    pub(super) take_token: Script,
    pub(super) admit: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Scripts {
            incr_if_below: Script::new(INCR_IF_BELOW),
            add_counter: Script::new(ADD_COUNTER),
            put_record: Script::new(PUT_RECORD),
            take_token: Script::new(TAKE_TOKEN),
            admit: Script::new(ADMIT),
        }
    }
}
