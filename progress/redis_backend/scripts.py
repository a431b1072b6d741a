"""The Lua scripts: every change of a job and its event happen in one script, so no reader
ever sees one without the other, and ids are ordered across workers.

Keys are built from one prefix (default `progress:`); a single Redis (or a primary with
replicas) is assumed, not Redis Cluster. The layout:

    ids, start, floor     event id counter; below `start` nothing is held; `/api/events`
                          resumes from below `floor` get a snapshot
    events, control       the event stream (ids `0-<event id>`), cancel requests
    job:<id>              the job's record (JSON, see `records.py`)
    state, owner, worker  hashes: job id -> state, owner, worker running it
    claims                hash: job id -> worker that took it from the queue to start it
    created, in:<state>   sorted sets by creation order, for lists newest first and counts
    queue                 sorted set of due queued jobs no worker took yet, oldest first
    delayed               sorted set of queued jobs waiting for their `run_at` (ms), soonest first
    idem:<owner>:<key>    an Idempotency-Key: the body's digest and the job it created (24 h)
    schedules             hash: schedule name -> the newest due time it fired for
    busy_by               hash: owner -> jobs running or claimed, for the per-owner share
    finished              sorted set by finish time in ms, for retention
    queued_by             hash: owner -> queued jobs
    runs:<worker>         set of the jobs a worker runs
    hist:<id>, progress   a job's `state` events; each job's newest `progress`
    states                the last 1000 `state` events, for `/api/events` resumes
    heartbeats            hash: worker -> its newest heartbeat (ms, Redis' clock); a claim
                          registers its worker; 0 says goodbye
    pulse, answering_since  the newest heartbeat from any worker, and since when heartbeats
                          have come without a gap (Redis was away, frozen or restarted before)
    streams_of:<w>        hash: owner -> a worker's open streams of that owner (with a TTL),
                          for the stream limit and `/healthz`
    rate:<owner>          an owner's job-creation token bucket: tokens, at (with a TTL)

An event entry is `<id>\\n<type>\\n<1 if terminal else 0>\\n<job id>\\n<owner>\\n<data>`.
"""

from __future__ import annotations

from redis import Redis
from redis.commands.core import Script

_PRELUDE = """
local P = ARGV[1]
local function fmt(n) return string.format('%.0f', n) end
local function entry_id(entry) return tonumber(string.match(entry, '^%d+')) end
local function release(id)  -- a claimed job goes back to its place in the queue
  redis.call('HDEL', P .. 'claims', id)
  redis.call('HINCRBY', P .. 'busy_by', redis.call('HGET', P .. 'owner', id), -1)
  redis.call('ZADD', P .. 'queue', redis.call('ZSCORE', P .. 'created', id), id)
end
local function now_ms()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end
local function last_id()
  local value = redis.call('GET', P .. 'ids')
  if value then return tonumber(value) end
  local now = redis.call('TIME')
  local start = fmt(tonumber(now[1]) * 1000000 + tonumber(now[2]) - 1)
  redis.call('SET', P .. 'ids', start)
  redis.call('SET', P .. 'start', start)
  redis.call('SET', P .. 'floor', start)
  return tonumber(start)
end
"""

COMMIT = _PRELUDE + """
-- ARGV: prefix, job id, expected state ('' for a new job), new state, record, event type,
-- event entry after its id, slot holder ('' = any), owner, terminal ('1'/'0'),
-- finished ms, stream maxlen, concurrency, queue size, per-owner queued limit, state history,
-- run_at ms ('' = at once), idempotency key ('' = none), body digest, key seconds
local id, expect, new, record = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local kind, rest, holder, owner = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local current = redis.call('HGET', P .. 'state', id)
if expect == '' and ARGV[18] ~= '' then
  local prior = redis.call('GET', P .. 'idem:' .. owner .. ':' .. ARGV[18])
  if prior then
    if string.sub(prior, 1, #ARGV[19] + 1) == ARGV[19] .. '\\n' then return -4 end
    return -5
  end
end
if expect == '' then
  local queued = redis.call('ZCARD', P .. 'queue') + redis.call('ZCARD', P .. 'delayed')
  local busy = redis.call('ZCARD', P .. 'in:running') + redis.call('HLEN', P .. 'claims')
  local concurrency, size = tonumber(ARGV[13]), tonumber(ARGV[14])
  local free = math.max(0, concurrency - busy)
  if math.max(0, queued - free) >= size and busy + math.min(queued, free) >= concurrency then
    return -2
  end
  local limit = tonumber(ARGV[15])
  if limit > 0 and tonumber(redis.call('HGET', P .. 'queued_by', owner) or '0') >= limit then
    return -3
  end
else
  if current ~= expect then return -1 end
  if holder ~= '' then
    local held = expect == 'queued' and redis.call('HGET', P .. 'claims', id)
                 or redis.call('HGET', P .. 'worker', id)
    if held ~= holder then return -1 end
  end
end
local seq
if expect == '' then
  seq = redis.call('INCR', P .. 'seq')
  redis.call('ZADD', P .. 'created', seq, id)
  redis.call('HSET', P .. 'owner', id, owner)
  if ARGV[18] ~= '' then
    redis.call('SET', P .. 'idem:' .. owner .. ':' .. ARGV[18], ARGV[19] .. '\\n' .. id .. '\\n' .. record,
               'EX', ARGV[20])
  end
else
  seq = redis.call('ZSCORE', P .. 'created', id)
end
if new == 'queued' and expect ~= 'queued' then  -- a new job, or another attempt of one
  if ARGV[17] ~= '' then
    redis.call('ZADD', P .. 'delayed', ARGV[17], id)
  else
    redis.call('ZADD', P .. 'queue', seq, id)
  end
  redis.call('HINCRBY', P .. 'queued_by', owner, 1)
end
if new ~= expect then
  if expect ~= '' then redis.call('ZREM', P .. 'in:' .. expect, id) end
  redis.call('ZADD', P .. 'in:' .. new, seq, id)
  redis.call('HSET', P .. 'state', id, new)
  local was_busy = expect == 'running' or (expect == 'queued' and redis.call('HEXISTS', P .. 'claims', id) == 1)
  if was_busy and new ~= 'running' then
    redis.call('HINCRBY', P .. 'busy_by', owner, -1)
  end
  if expect == 'queued' then
    redis.call('ZREM', P .. 'queue', id)
    redis.call('ZREM', P .. 'delayed', id)
    redis.call('HDEL', P .. 'claims', id)
    if redis.call('HINCRBY', P .. 'queued_by', owner, -1) <= 0 then
      redis.call('HDEL', P .. 'queued_by', owner)
    end
  end
  if expect == 'running' then
    local worker = redis.call('HGET', P .. 'worker', id)
    if worker then redis.call('SREM', P .. 'runs:' .. worker, id) end
  end
  if new == 'running' then
    redis.call('HSET', P .. 'worker', id, holder)
    redis.call('SADD', P .. 'runs:' .. holder, id)
  end
  if ARGV[10] == '1' then
    redis.call('HDEL', P .. 'worker', id)
    redis.call('ZADD', P .. 'finished', ARGV[11], id)
  end
end
redis.call('SET', P .. 'job:' .. id, record)
last_id()
local event_id = redis.call('INCR', P .. 'ids')
local entry = fmt(event_id) .. '\\n' .. rest
if kind == 'progress' then
  redis.call('HSET', P .. 'progress', id, entry)
else
  redis.call('RPUSH', P .. 'hist:' .. id, entry)
  redis.call('RPUSH', P .. 'states', entry)
  if redis.call('LLEN', P .. 'states') > tonumber(ARGV[16]) then
    local dropped = entry_id(redis.call('LPOP', P .. 'states'))
    if dropped > tonumber(redis.call('GET', P .. 'floor')) then
      redis.call('SET', P .. 'floor', fmt(dropped))
    end
  end
end
redis.call('XADD', P .. 'events', 'MAXLEN', '~', ARGV[12], '0-' .. fmt(event_id), 'e', entry)
return event_id
"""

CLAIM = _PRELUDE + """
-- ARGV: prefix, worker, concurrency, jobs per owner. Takes a due queued job if the deployment
-- has a free slot; the job stays `queued` (claimed) until the worker commits `running`.
-- Delayed jobs whose time came join the queue in their creation order first. Owners take
-- turns: of the first 500 queued jobs, the oldest of the owner running the fewest (and fewer
-- than their share) is taken.
local busy = redis.call('ZCARD', P .. 'in:running') + redis.call('HLEN', P .. 'claims')
if busy >= tonumber(ARGV[3]) then return false end
local now = now_ms()
for _, due in ipairs(redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', now, 'LIMIT', 0, 100)) do
  redis.call('ZREM', P .. 'delayed', due)
  redis.call('ZADD', P .. 'queue', redis.call('ZSCORE', P .. 'created', due), due)
end
local share, head, head_owner, fewest = tonumber(ARGV[4]), nil, nil, nil
local seen = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'queue', 0, 499)) do
  local owner = redis.call('HGET', P .. 'owner', id)
  if owner and not seen[owner] then
    seen[owner] = true
    local busy_of = tonumber(redis.call('HGET', P .. 'busy_by', owner) or '0')
    if busy_of < share and (fewest == nil or busy_of < fewest) then
      head, head_owner, fewest = id, owner, busy_of
    end
  end
end
if not head then return false end
redis.call('ZREM', P .. 'queue', head)
redis.call('HSETNX', P .. 'heartbeats', ARGV[2], now)  -- a worker holding a claim is one the monitors watch
redis.call('HSET', P .. 'claims', head, ARGV[2])
redis.call('HINCRBY', P .. 'busy_by', head_owner, 1)
return redis.call('GET', P .. 'job:' .. head)
"""

RELEASE = _PRELUDE + """
-- ARGV: prefix, job id, worker. A claimed job that will not start there waits in its place again.
local id = ARGV[2]
if redis.call('HGET', P .. 'claims', id) ~= ARGV[3] then return 0 end
release(id)
return 1
"""

TICK = _PRELUDE + """
-- ARGV: prefix, worker, dead after (ms), quiet gap (ms). The worker's heartbeat, and in the
-- same step the burial of dead workers: their claims go back to the queue, and their running
-- jobs are returned as {worker, job id, ...} for the caller to end (a retry is its decision);
-- a dead worker with none left is forgotten. A worker is dead when its heartbeat is older than
-- `dead after` while heartbeats have reached Redis without a gap for at least that long: an
-- outage (Redis down, frozen or restarted) kills nobody.
local worker, dead_after = ARGV[2], tonumber(ARGV[3])
local now = now_ms()
if now - tonumber(redis.call('GET', P .. 'pulse') or '0') > tonumber(ARGV[4]) then
  redis.call('SET', P .. 'answering_since', now)
end
redis.call('SET', P .. 'pulse', now)
redis.call('HSET', P .. 'heartbeats', worker, now)
if now - tonumber(redis.call('GET', P .. 'answering_since')) < dead_after then return {} end
local ending = {}
local beats = redis.call('HGETALL', P .. 'heartbeats')
for i = 1, #beats, 2 do
  local dead = beats[i]
  if now - tonumber(beats[i + 1]) >= dead_after then
    local claims = redis.call('HGETALL', P .. 'claims')
    for j = 1, #claims, 2 do
      if claims[j + 1] == dead then release(claims[j]) end
    end
    local running = 0
    for _, id in ipairs(redis.call('SMEMBERS', P .. 'runs:' .. dead)) do
      if redis.call('HGET', P .. 'state', id) == 'running' and redis.call('HGET', P .. 'worker', id) == dead then
        table.insert(ending, dead)
        table.insert(ending, id)
        running = running + 1
      else
        redis.call('SREM', P .. 'runs:' .. dead, id)
      end
    end
    if running == 0 then
      redis.call('HDEL', P .. 'heartbeats', dead)
      redis.call('DEL', P .. 'streams_of:' .. dead)
    end
  end
end
return ending
"""

SCHEDULE_DUE = """
-- KEYS: the schedules hash; ARGV: name, due time. 1 exactly once per name and due time; a
-- name seen for the first time is recorded without firing (0).
local last = redis.call('HGET', KEYS[1], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if last then return 1 end
return 0
"""

VIEW_JOB = _PRELUDE + """
-- ARGV: prefix, job id. The newest id, the resume start, the record, the newest progress
-- entry and the state entries: one consistent moment.
local id = ARGV[2]
local result = {fmt(last_id()), redis.call('GET', P .. 'start'),
                redis.call('GET', P .. 'job:' .. id) or '',
                redis.call('HGET', P .. 'progress', id) or ''}
for _, entry in ipairs(redis.call('LRANGE', P .. 'hist:' .. id, 0, -1)) do
  table.insert(result, entry)
end
return result
"""

VIEW_ALL = _PRELUDE + """
-- ARGV: prefix, since ('' = none), viewer ('' = an admin), finished jobs in a snapshot.
-- Returns {newest id, 'missed', entries...} or {newest id, 'snapshot', records...}.
local newest = last_id()
local since = tonumber(ARGV[2])
if since and since >= tonumber(redis.call('GET', P .. 'floor')) and since <= newest then
  local result = {fmt(newest), 'missed'}
  for _, entry in ipairs(redis.call('LRANGE', P .. 'states', 0, -1)) do
    if entry_id(entry) > since then table.insert(result, entry) end
  end
  for _, entry in ipairs(redis.call('HVALS', P .. 'progress')) do
    if entry_id(entry) > since then table.insert(result, entry) end
  end
  return result
end
local result = {fmt(newest), 'snapshot'}
for _, state in ipairs({'queued', 'running'}) do
  for _, id in ipairs(redis.call('ZRANGE', P .. 'in:' .. state, 0, -1)) do
    table.insert(result, redis.call('GET', P .. 'job:' .. id))
  end
end
local wanted, offset = tonumber(ARGV[4]), 0
while wanted > 0 do
  local ids = redis.call('ZREVRANGE', P .. 'finished', offset, offset + 199)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    if wanted > 0 and (ARGV[3] == '' or redis.call('HGET', P .. 'owner', id) == ARGV[3]) then
      table.insert(result, redis.call('GET', P .. 'job:' .. id))
      wanted = wanted - 1
    end
  end
  offset = offset + 200
end
return result
"""

FORGET = _PRELUDE + """
-- ARGV: prefix, finished before (ms), at most. Forgets those jobs and returns their records
-- (the caller removes their result files); resumes from before their ends get snapshots.
local ids = redis.call('ZRANGEBYSCORE', P .. 'finished', '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
local records = {}
last_id()
for _, id in ipairs(ids) do
  table.insert(records, redis.call('GET', P .. 'job:' .. id) or '')
  local ending = redis.call('LINDEX', P .. 'hist:' .. id, -1)
  if ending and entry_id(ending) > tonumber(redis.call('GET', P .. 'floor')) then
    redis.call('SET', P .. 'floor', fmt(entry_id(ending)))
  end
  local state = redis.call('HGET', P .. 'state', id)
  if state then redis.call('ZREM', P .. 'in:' .. state, id) end
  redis.call('DEL', P .. 'job:' .. id, P .. 'hist:' .. id)
  redis.call('HDEL', P .. 'state', id)
  redis.call('HDEL', P .. 'owner', id)
  redis.call('HDEL', P .. 'progress', id)
  redis.call('ZREM', P .. 'created', id)
  redis.call('ZREM', P .. 'finished', id)
end
return records
"""


TAKE_TOKEN = """
-- KEYS: the owner's bucket; ARGV: tokens a minute. Returns '0', or the seconds until a
-- token is back. The same bucket as `progress.limits.RateLimiter`, on Redis' clock.
local capacity = tonumber(ARGV[1])
local per_second = capacity / 60
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + (now - at) * per_second)
if tokens < 1 then return tostring((1 - tokens) / per_second) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 61)  -- a bucket left alone a minute is full: the same as none
return '0'
"""


class Scripts:
    """The scripts registered on one client; redis-py reloads them after a Redis restart."""

    def __init__(self, client: Redis) -> None:
        self.commit: Script = client.register_script(COMMIT)
        self.claim: Script = client.register_script(CLAIM)
        self.release: Script = client.register_script(RELEASE)
        self.tick: Script = client.register_script(TICK)
        self.schedule_due: Script = client.register_script(SCHEDULE_DUE)
        self.view_job: Script = client.register_script(VIEW_JOB)
        self.view_all: Script = client.register_script(VIEW_ALL)
        self.forget: Script = client.register_script(FORGET)
        self.take_token: Script = client.register_script(TAKE_TOKEN)
