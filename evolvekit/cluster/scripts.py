"""The Lua scripts of the cluster. Redis runs a script atomically (no other command runs in
between) and, with ``appendonly yes``, writes its effects to the AOF as one MULTI/EXEC: each
step below either happened completely or not at all.

The "finish" scripts are what make delivery exactly-once on the broadcast stream although work
is at-least-once: an ingest entry is appended to the broadcast stream only by the call whose
``XACK`` (or outbox ``ZREM``) actually removed it, so a worker that finishes an entry another
worker already finished changes nothing.
"""

from __future__ import annotations

# KEYS: ingest id counter, ingest stream.
# ARGV: dedupe key prefix, dedupe TTL seconds (0: none), received_at, then per event
# (event JSON, subject or "", dedupe key or ""). Returns flat (id, duplicate 0/1) pairs.
ACCEPT = """
local out = {}
for i = 4, #ARGV, 3 do
  local dedupe = ARGV[i + 2]
  local known = false
  if dedupe ~= '' then
    known = redis.call('GET', ARGV[1] .. dedupe)
  end
  if known then
    out[#out + 1] = tonumber(known)
    out[#out + 1] = 1
  else
    local id = redis.call('INCR', KEYS[1])
    redis.call('XADD', KEYS[2], '*', 'id', id, 'event', ARGV[i], 'subject', ARGV[i + 1],
               'received_at', ARGV[3])
    if dedupe ~= '' then
      if ARGV[2] ~= '0' then
        redis.call('SET', ARGV[1] .. dedupe, id, 'EX', ARGV[2])
      else
        redis.call('SET', ARGV[1] .. dedupe, id)
      end
    end
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
return out
"""

_BROADCAST = """
  local seq = redis.call('INCR', KEYS[3])
  local args = {KEYS[4], 'MAXLEN', ARGV[3], seq .. '-0'}
  for i = 5, #ARGV do args[#args + 1] = ARGV[i] end
  redis.call('XADD', unpack(args))
  return seq
"""

# KEYS: ingest stream, (unused), broadcast seq counter, broadcast stream.
# ARGV: group, entry id, broadcast maxlen, "1" to broadcast, then field/value pairs.
# Returns the seq, 0 (acknowledged, not broadcast) or -1 (someone else finished it).
FINISH = (
    """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -1 end
if ARGV[4] ~= '1' then return 0 end
"""
    + _BROADCAST
)

# KEYS: outbox, outbox data, broadcast seq counter, broadcast stream.
# ARGV: entry id, (unused), broadcast maxlen, "1" to broadcast, then field/value pairs.
OUTBOX_DONE = (
    """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return -1 end
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[4] ~= '1' then return 0 end
"""
    + _BROADCAST
)

# KEYS: ingest stream, dead-letter id counter, dead letters, dead-letter index.
# ARGV: group, entry id, record JSON (without its id), epoch seconds. The id or -1.
DEAD = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -1 end
local id = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[4], id)
return id
"""

# KEYS: outbox, outbox data, dead-letter id counter, dead letters, dead-letter index.
# ARGV: entry id, record JSON, epoch seconds. The id or -1.
OUTBOX_DEAD = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return -1 end
redis.call('HDEL', KEYS[2], ARGV[1])
local id = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[4], id, ARGV[2])
redis.call('ZADD', KEYS[5], ARGV[3], id)
return id
"""

# KEYS: ingest stream, outbox, outbox data. ARGV: group, entry id, due time, data JSON.
TO_OUTBOX = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
return 1
"""

# KEYS: outbox, outbox data. ARGV: now, lease end, limit. Due entries are leased (their due
# time moved to the lease end) so that no other worker sends them meanwhile; flat (id, data).
OUTBOX_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
"""

# KEYS: outbox, outbox data. ARGV: entry id, next due time, data JSON. 1, or 0 when gone.
OUTBOX_LATER = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""

# KEYS: dead letters, dead-letter index, ingest id counter, ingest stream.
# ARGV: dead-letter id, event JSON, subject or "", received_at, idempotency key or "".
# The new ingest id or -1.
REQUEUE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
redis.call('ZREM', KEYS[2], ARGV[1])
local id = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[4], '*', 'id', id, 'event', ARGV[2], 'subject', ARGV[3],
           'received_at', ARGV[4], 'key', ARGV[5])
return id
"""
