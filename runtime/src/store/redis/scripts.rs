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

/// A whole admission, as `store/admit.rs::admit_in_order`: KEYS one per step; ARGV[1] now µs,
/// then three per step: kind (`w` watch, `t` take, `q` quota, `u` usage) and two numbers
/// (take: interval µs, tolerance µs; quota: limit, expiry; usage: delta, expiry; watch: '').
/// Returns one string of six integers, `status step value quota_used usage_ok watched`
/// (quota used and watched -1 when absent, usage ok 1/0): one bulk string is cheaper to
/// reply and to parse than a six-element array. Status 0 admitted, 1 throttled at step
/// (value = wait µs), 2 quota at limit (value = count), 3 step's key holds another type
/// (nothing more ran).
const ADMIT: &str = r"
local now = tonumber(ARGV[1])
local quota_used = -1
local usage_ok = 1
local watched = -1
local function reply(status, step, value)
  return string.format('%d %d %d %d %d %d', status, step, value, quota_used, usage_ok, watched)
end
for i = 1, #KEYS do
  local key = KEYS[i]
  local kind = ARGV[3 * i - 1]
  local a = ARGV[3 * i]
  local b = ARGV[3 * i + 1]
  if kind == 'w' then
    local ok, v = pcall(redis.call, 'GET', key)
    if ok then watched = tonumber(v or '0') or -1 end
  elseif kind == 't' then
    local interval = tonumber(a)
    local tolerance = tonumber(b)
    local ok, stored = pcall(redis.call, 'GET', key)
    if not ok then return reply(3, i - 1, 0) end
    local tat = now
    if stored then
      tat = tonumber(stored)
      if tat == nil then return reply(3, i - 1, 0) end
      if tat < now then tat = now end
    end
    local new_tat = tat + interval
    local ahead = new_tat - now
    if ahead > tolerance then
      return reply(1, i - 1, math.ceil(ahead - tolerance))
    end
    new_tat = math.ceil(new_tat)
    local expiry = string.format('%d', math.ceil(new_tat / 1000))
    redis.call('SET', key, string.format('%d', new_tat), 'PXAT', expiry)
  elseif kind == 'q' then
    local ok, current = pcall(redis.call, 'GET', key)
    if not ok then return reply(3, i - 1, 0) end
    local n = 0
    if current then
      n = tonumber(current)
      if n == nil then return reply(3, i - 1, 0) end
    end
    if n >= tonumber(a) then return reply(2, i - 1, n) end
    n = redis.call('INCR', key)
    if not current and b ~= '' then redis.call('PEXPIREAT', key, b) end
    quota_used = n
  elseif kind == 'u' then
    -- One INCRBY, no EXISTS: the delta is positive, so a counter that now equals it was
    -- just created (or held 0, and gets the expiry its day key always has).
    local ok, n = pcall(redis.call, 'INCRBY', key, a)
    if not ok then
      usage_ok = 0
    elseif n == tonumber(a) and b ~= '' then
      redis.call('PEXPIREAT', key, b)
    end
  end
end
return reply(0, -1, 0)
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
