/*
 * sso-broker: the admin's store operations: the user mapping (read at one
 * instant, import applied all or nothing, one profile written or deleted)
 * and a user's revocation.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each script runs atomically in Redis; every write checks the mapping
 * version (or the profile) the caller read, so a concurrent change is
 * refused, never overwritten.  Revoking a user deletes the tokens and
 * sessions listed in the user's index sets.
 * Trust: ARGV values are computed by the broker; stored values are
 * untrusted and parsed strictly again in C.
 */
#include "store.h"

/* Revoke a user's tokens and browser sessions (used by several scripts). */
#define LUA_REVOKE_FN \
	"local function revoke_user(utok, usess)\n" \
	"  local n, m = 0, 0\n" \
	"  for _, k in ipairs(redis.call('SMEMBERS', utok)) do\n" \
	"    n = n + redis.call('DEL', k)\n" \
	"  end\n" \
	"  for _, k in ipairs(redis.call('SMEMBERS', usess)) do\n" \
	"    m = m + redis.call('DEL', k)\n" \
	"  end\n" \
	"  redis.call('DEL', utok, usess)\n" \
	"  return n, m\n" \
	"end\n"

/*
 * Every token and session of one user, and every code, consent
 * transaction and sign-in in flight: the generation bump voids whatever
 * recorded the old one (store_lua_issue, store_lua_redeem,
 * store_lua_session_authz compare it).
 * KEYS: 1 token index, 2 session index, 3 revocation generations.
 * ARGV: 1 internal ID.  Returns {tokens, sessions, new generation}.
 */
const char store_lua_user_revoke[] =
	LUA_REVOKE_FN
	"local n, m = revoke_user(KEYS[1], KEYS[2])\n"
	"local g = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)\n"
	"return {n, m, g}\n";

/*
 * The mapping and its version, read at one instant.  KEYS: 1 users, 2 version.
 */
const char store_lua_snapshot[] =
	"return {redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', "
	    "KEYS[1])}\n";

/*
 * Apply a validated import all or nothing (BRIEF: atomic).  The version
 * check refuses a plan computed from a mapping that changed since.
 * KEYS: 1 users, 2 Salesforce index, 3 version.
 * ARGV: 1 expected version, 2 token-index prefix, 3 session-index prefix,
 *   then sections, each a count and its items:
 *   upserts (id, record), deletes (id), index deletes (key),
 *   index sets (key, id), revocations (id).
 */
const char store_lua_apply[] =
	LUA_REVOKE_FN
	"for _, k in ipairs({KEYS[1], KEYS[2]}) do\n"
	"  local t = redis.call('TYPE', k).ok\n"
	"  if t ~= 'hash' and t ~= 'none' then return 'badtype' end\n"
	"end\n"
	"if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[1] then return "
	    "'conflict' end\n"
	"local i = 4\n"
	"local n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]); i "
	    "= i + 2 end\n"
	"n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do redis.call('HDEL', KEYS[1], ARGV[i]); i = i + 1 end\n"
	"n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do redis.call('HDEL', KEYS[2], ARGV[i]); i = i + 1 end\n"
	"n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i "
	    "= i + 2 end\n"
	"n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do revoke_user(ARGV[2] .. ARGV[i], ARGV[3] .. ARGV[i]); "
	    "i = i + 1 end\n"
	"redis.call('INCR', KEYS[3])\n"
	"return 'OK'\n";

/*
 * One profile written, if it is still what the caller read.
 * KEYS: 1 users, 2 Salesforce index, 3 version.
 * ARGV: 1 id, 2 expected current record ("" = must not exist), 3 new record,
 *   4 old Salesforce key (""), 5 new Salesforce key (""), 6 token-index
 *   prefix, 7 session-index prefix.
 * Returns {"ok"} | {"conflict"} | {"dup", other id}.
 */
const char store_lua_user_set[] =
	LUA_REVOKE_FN
	"if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then "
	    "return {'conflict'} end\n"
	"if ARGV[5] ~= '' then\n"
	"  local other = redis.call('HGET', KEYS[2], ARGV[5])\n"
	"  if other and other ~= ARGV[1] then return {'dup', other} end\n"
	"end\n"
	"if ARGV[4] ~= '' and ARGV[4] ~= ARGV[5] then\n"
	"  redis.call('HDEL', KEYS[2], ARGV[4])\n"
	"  revoke_user(ARGV[6] .. ARGV[1], ARGV[7] .. ARGV[1])\n"
	"end\n"
	"if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[5], ARGV[1]) "
	    "end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
	"redis.call('INCR', KEYS[3])\n"
	"return {'ok'}\n";

/*
 * Delete one profile (and end its sessions), if unchanged since read.
 * KEYS: 1 users, 2 Salesforce index, 3 version.
 * ARGV: 1 id, 2 expected record, 3 its Salesforce key (""), 4 token-index
 *   prefix, 5 session-index prefix.
 */
/* The size of each given hash.  ARGV: hash keys (the admin's user counts). */
const char store_lua_hlen[] =
	"local r = {}\n"
	"for i, k in ipairs(ARGV) do r[i] = redis.call('HLEN', k) end\n"
	"return r\n";

const char store_lua_user_del[] =
	LUA_REVOKE_FN
	"if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then "
	    "return {'conflict'} end\n"
	"if ARGV[3] ~= '' and redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] "
	    "then\n"
	"  redis.call('HDEL', KEYS[2], ARGV[3])\n"
	"end\n"
	"redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"revoke_user(ARGV[4] .. ARGV[1], ARGV[5] .. ARGV[1])\n"
	"redis.call('INCR', KEYS[3])\n"
	"return {'ok'}\n";
