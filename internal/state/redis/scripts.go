package redis

import goredis "github.com/redis/go-redis/v9"

// Every script touches only the keys it is given, and every call passes keys
// that share one hash tag, so each script runs in one slot of a Redis
// Cluster. Scripts return a status integer first (see the st* constants).

const (
	stNotFound = 0
	stOK       = 1
	stRetry    = 2 // rotate: grace retry
	stConsumed = 2 // consume: tombstone found
	stMismatch = 3
	stRevoked  = 4 // rotate: family already revoked
	stReuse    = 5 // rotate: reuse detected, family revoked now
	stCorrupt  = 9
)

// consumeCode: KEYS[1]=code KEYS[2]=tombstone; ARGV[1]=client id,
// ARGV[2]=code challenge, ARGV[3]=minimum tombstone TTL (ms), ARGV[4]=now
// (unix ms, kept in the tombstone as the redemption time).
// Compare-then-delete: a mismatching attempt leaves the code in place. The
// tombstone (hash f=family id, c=client id, p=challenge) lets a replay be
// reported as ErrConsumed only when it is otherwise valid (same client and
// verifier); any other replay is a mismatch and revokes nothing.
var consumeCodeScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  local t = redis.call('HMGET', KEYS[2], 'f', 'c', 'p', 't')
  if not t[1] then return {0} end
  if t[2] ~= ARGV[1] or t[3] ~= ARGV[2] then return {3} end
  return {2, t[1] .. '|' .. (t[4] or '0')}
end
local ok, c = pcall(cjson.decode, v)
if not ok or type(c) ~= 'table' then return {9} end
if c['client_id'] ~= ARGV[1] or c['code_challenge'] ~= ARGV[2] then return {3} end
local ttl = redis.call('PTTL', KEYS[1])
local min = tonumber(ARGV[3])
if ttl < min then ttl = min end
local fid = c['family_id']
if type(fid) ~= 'string' then fid = '' end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'f', fid, 'c', ARGV[1], 'p', ARGV[2], 't', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, v}
`)

// createHash: KEYS[1]=record, KEYS[2]=a key whose existence also blocks
// creation (e.g. the revoked marker; may equal KEYS[1]); ARGV[1]=TTL (ms),
// ARGV[2..]=field/value pairs. Returns 0 if taken.
var createHashScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`)

// touchClient: KEYS[1]=client; ARGV[1]=last used, ARGV[2]=TTL (ms).
var touchClientScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'lu', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// rotate: KEYS[1]=family KEYS[2]=revoked marker; ARGV[1]=presented,
// ARGV[2]=next, ARGV[3]=client id, ARGV[4]=now (unix ms), ARGV[5]=grace (ms),
// ARGV[6]=minimum revocation TTL (ms). The family hash holds d (immutable
// JSON), cid, cur, prev and rot (unix ms of the last rotation); HSET keeps
// the key's TTL, so the family's expiry stays absolute.
var rotateScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return {4} end
local h = redis.call('HMGET', KEYS[1], 'd', 'cid', 'cur', 'prev', 'rot')
if not h[1] then return {0} end
if h[2] ~= ARGV[3] then return {3} end
if h[3] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', ARGV[1], 'rot', ARGV[4])
  return {1, h[1]}
end
local grace = tonumber(ARGV[5])
if grace > 0 and h[4] == ARGV[1] and h[3] == ARGV[2] and tonumber(ARGV[4]) - tonumber(h[5]) <= grace then
  return {2, h[1]}
end
local ttl = redis.call('PTTL', KEYS[1])
local min = tonumber(ARGV[6])
if ttl < min then ttl = min end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ttl)
return {5, h[1]}
`)

// revokeFamily: KEYS[1]=family KEYS[2]=revoked marker; ARGV[1]=minimum
// revocation TTL (ms). The marker lives as long as the family would have,
// at least the minimum, and never shorter than an existing marker.
var revokeFamilyScript = goredis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
local min = tonumber(ARGV[1])
if ttl < min then ttl = min end
local old = redis.call('PTTL', KEYS[2])
if old > ttl then ttl = old end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ttl)
return 1
`)

// grantConsent: KEYS[1]=consent KEYS[2]=user's consent set; ARGV[1]=client
// id, ARGV[2]=value, ARGV[3]=TTL (ms). The set lives as long as its
// longest-lived member.
var grantConsentScript = goredis.NewScript(`
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1
`)

// revokeConsent: KEYS[1]=consent KEYS[2]=user's consent set; ARGV[1]=client id.
var revokeConsentScript = goredis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
`)

// denyAccess: KEYS[1]=denylist entry; ARGV[1]=TTL (ms). Never shortens an
// existing entry.
var denyAccessScript = goredis.NewScript(`
local old = redis.call('PTTL', KEYS[1])
if old >= tonumber(ARGV[1]) then return 1 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1
`)
