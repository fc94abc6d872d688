/*
 * sso-broker: the Lua scripts that make multi-key decisions atomic.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each script runs atomically in Redis, so "check then write" can never
 * race: a replayed assertion, a second use of a request ID or a code, or a
 * concurrent mapping change all see the first writer's result.  Records
 * are JSON written by this project; scripts decode them with pcall and
 * treat anything unexpected as absent (fail closed).  Only digests of
 * secrets ever appear in keys.
 * Trust: ARGV values are computed by the broker; stored values are
 * untrusted and parsed strictly again in C.
 */
#include "store.h"

/*
 * ACS decision, after the signature and every pure check passed.
 * KEYS: 1 replay key, 2 authn-request key (unused when unsolicited),
 *       3 Salesforce index hash, 4 users hash, 5 revocation generations.
 * ARGV: 1 request ID ("" = unsolicited), 2 browser binding digest,
 *       3 replay TTL, 4 Salesforce key, 5 consent key prefix,
 *       6 client_id for unsolicited sign-ins.
 * Returns {"replay"} | {"irt"} | {"unmapped"} |
 *         {"ok", user record, authn record or "", consent 0/1, generation}.
 * Nothing is written unless the answer is "ok" (P20, P21, P11, T05).  The
 * user's revocation generation is read here, at the instant the assertion
 * is accepted, so a revocation while the sign-in is finishing voids it.
 */
const char store_lua_acs[] =
	"if redis.call('EXISTS', KEYS[1]) == 1 then return {'replay'} end\n"
	"local st = false\n"
	"local client = ARGV[6]\n"
	"if ARGV[1] ~= '' then\n"
	"  st = redis.call('GET', KEYS[2])\n"
	"  if not st then return {'irt'} end\n"
	"  local ok, o = pcall(cjson.decode, st)\n"
	"  if not ok or type(o) ~= 'table' or o.rid ~= ARGV[1] or o.bind ~= "
	    "ARGV[2] then\n"
	"    return {'irt'}\n"
	"  end\n"
	"  if type(o.client_id) == 'string' then client = o.client_id end\n"
	"end\n"
	"local id = redis.call('HGET', KEYS[3], ARGV[4])\n"
	"if not id then return {'unmapped'} end\n"
	"local rec = redis.call('HGET', KEYS[4], id)\n"
	"if not rec then return {'unmapped'} end\n"
	"redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3])\n"
	"if ARGV[1] ~= '' then redis.call('DEL', KEYS[2]) end\n"
	"local consent = redis.call('EXISTS', ARGV[5] .. id .. ':' .. client)\n"
	"return {'ok', rec, st or '', consent, "
	    "redis.call('HGET', KEYS[5], id) or '0'}\n";

/*
 * What a sign-in issues (session, code, consent transaction, remembered
 * consent), in one step, if the user was not revoked since the flow read
 * the user's generation (at the ACS, from the session, or into the consent
 * transaction): a revocation racing a sign-in wins.
 * KEYS: 1 revocation generations (hash: internal ID -> count).
 * ARGV: 1 internal ID, 2 expected generation, then n, n x (key, value,
 *   ttl), then m, m x (set, member, ttl).  A set's TTL only ever grows.
 * Returns "OK" | "revoked" (nothing written).
 */
const char store_lua_issue[] =
	"if (redis.call('HGET', KEYS[1], ARGV[1]) or '0') ~= ARGV[2] then\n"
	"  return 'revoked'\n"
	"end\n"
	"local i = 4\n"
	"for k = 1, tonumber(ARGV[3]) do\n"
	"  redis.call('SET', ARGV[i], ARGV[i + 1], 'EX', ARGV[i + 2]); i = i + "
	    "3\n"
	"end\n"
	"local m = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, m do\n"
	"  redis.call('SADD', ARGV[i], ARGV[i + 1])\n"
	"  if redis.call('TTL', ARGV[i]) < tonumber(ARGV[i + 2]) then\n"
	"    redis.call('EXPIRE', ARGV[i], ARGV[i + 2])\n"
	"  end\n"
	"  i = i + 3\n"
	"end\n"
	"return 'OK'\n";

/*
 * A browser session authorizes a panel: the session must exist, must not
 * predate a revocation of its user, and its user must still map to the
 * same profile.
 * KEYS: 1 Salesforce index hash, 2 users hash, 3 revocation generations.
 * ARGV: 1 session key, 2 consent key prefix, 3 client_id.
 * Returns {"nosession"} | {"gone"} |
 *         {"ok", session, user record, consent, generation}.
 */
const char store_lua_session_authz[] =
	"local s = redis.call('GET', ARGV[1])\n"
	"if not s then return {'nosession'} end\n"
	"local ok, o = pcall(cjson.decode, s)\n"
	"if not ok or type(o) ~= 'table' or type(o.sfdc_key) ~= 'string' or\n"
	"   type(o.internal_id) ~= 'string' then return {'nosession'} end\n"
	"local gen = redis.call('HGET', KEYS[3], o.internal_id) or '0'\n"
	"if (o.gen or '0') ~= gen then return {'nosession'} end\n"
	"local id = redis.call('HGET', KEYS[1], o.sfdc_key)\n"
	"if id ~= o.internal_id then return {'gone'} end\n"
	"local rec = redis.call('HGET', KEYS[2], id)\n"
	"if not rec then return {'gone'} end\n"
	"local consent = redis.call('EXISTS', ARGV[2] .. id .. ':' .. "
	    "ARGV[3])\n"
	"return {'ok', s, rec, consent, gen}\n";

/*
 * Redeem a code: consume it and mint its token in one step, so no fault
 * between the two can burn a code without a token (or mint twice).
 * Checks, in order: the code exists (else a tombstone means a second use:
 * the token minted from it is revoked, RFC 6749 4.1.2); client,
 * redirect_uri and PKCE S256 (RFC 6819 5.1.5.8, RFC 7636 4.6); the user was
 * not revoked since the code was issued; the user still maps to the
 * profile; the session has time left.  A failed check consumes the code.
 * The challenge is compared here with Lua's ==: it is not a secret (it
 * came through the browser) and Lua strings are interned, so equality is
 * a pointer compare.
 * Order of writes: the token first.  Under maxmemory Redis refuses only a
 * script's first denyoom write, so an out-of-memory fault leaves the code
 * as it was; later writes of a script that wrote are never refused.
 * KEYS: 1 code key, 2 its tombstone key, 3 Salesforce index hash,
 *       4 revocation generations.
 * ARGV: 1 client_id, 2 redirect_uri, 3 S256(code_verifier), 4 digest of
 *       the new token, 5 token key prefix, 6 token-index prefix, 7 tenant,
 *       8 now, 9 session_ttl, 10 tombstone TTL.
 * Returns {"unknown"} | {"reused", tombstone, revoked 0/1} | {"bad"} |
 *   {"mismatch", code record, reason} | {"revoked", code record} |
 *   {"gone", code record} | {"expired", code record} | {"badtype"} |
 *   {"ok", token record, ttl}.
 */
const char store_lua_redeem[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then\n"
	"  local t = redis.call('GET', KEYS[2])\n"
	"  if not t then return {'unknown'} end\n"
	"  local ok, o = pcall(cjson.decode, t)\n"
	"  local n = 0\n"
	"  if ok and type(o) == 'table' and type(o.tok) == 'string' and\n"
	"     o.tok:match('^%x+$') then\n"
	"    n = redis.call('DEL', ARGV[5] .. o.tok)\n"
	"    if type(o.internal_id) == 'string' then\n"
	"      redis.call('SREM', ARGV[6] .. o.internal_id, ARGV[5] .. "
	    "o.tok)\n"
	"    end\n"
	"  end\n"
	"  return {'reused', t, n}\n"
	"end\n"
	"local ok, o = pcall(cjson.decode, v)\n"
	"if not ok or type(o) ~= 'table' or type(o.internal_id) ~= 'string' "
	    "or\n"
	"   type(o.user) ~= 'string' or type(o.sfdc_key) ~= 'string' then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return {'bad'}\n"
	"end\n"
	"local why = false\n"
	"if o.client_id ~= ARGV[1] then why = 'code issued to another client'\n"
	"elseif o.redirect_uri ~= ARGV[2] then\n"
	"  why = 'redirect_uri does not match'\n"
	"elseif o.challenge ~= ARGV[3] then why = 'code_verifier does not "
	    "match' end\n"
	"if why then redis.call('DEL', KEYS[1]); return {'mismatch', v, why} "
	    "end\n"
	"local gen = redis.call('HGET', KEYS[4], o.internal_id) or '0'\n"
	"if (o.gen or '0') ~= gen then\n"
	"  redis.call('DEL', KEYS[1]); return {'revoked', v}\n"
	"end\n"
	"if redis.call('HGET', KEYS[3], o.sfdc_key) ~= o.internal_id then\n"
	"  redis.call('DEL', KEYS[1]); return {'gone', v}\n"
	"end\n"
	"local now = tonumber(ARGV[8])\n"
	"local ttl = (tonumber(o.sess_exp) or 0) - now\n"
	"if ttl > tonumber(ARGV[9]) then ttl = tonumber(ARGV[9]) end\n"
	"if ttl <= 0 then redis.call('DEL', KEYS[1]); return {'expired', v} "
	    "end\n"
	"local utok = ARGV[6] .. o.internal_id\n"
	"local ty = redis.call('TYPE', utok).ok\n"
	"if ty ~= 'set' and ty ~= 'none' then return {'badtype'} end\n"
	"local tkey = ARGV[5] .. ARGV[4]\n"
	"local rec = cjson.encode({v = 1, tenant = ARGV[7], client_id = "
	    "o.client_id,\n"
	"  internal_id = o.internal_id, user = o.user, extension = "
	    "o.extension,\n"
	"  sfdc_key = o.sfdc_key, iat = now, exp = now + ttl, gen = gen})\n"
	"redis.call('SET', tkey, rec, 'EX', ttl)\n"
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('SET', KEYS[2], cjson.encode({tok = ARGV[4],\n"
	"  internal_id = o.internal_id, user = o.user}), 'EX', ARGV[10])\n"
	"redis.call('SADD', utok, tkey)\n"
	"if redis.call('TTL', utok) < ttl then redis.call('EXPIRE', utok, ttl) "
	    "end\n"
	"return {'ok', rec, ttl}\n";

/*
 * RFC 7009 revocation by the client the token was issued to (T06).
 * KEYS: 1 token key.  ARGV: 1 client_id, 2 token-index prefix.
 * Returns 1 revoked, 0 unknown, -1 another client's token.
 */
const char store_lua_revoke[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then return 0 end\n"
	"local ok, o = pcall(cjson.decode, v)\n"
	"if not ok or type(o) ~= 'table' then return 0 end\n"
	"if o.client_id ~= ARGV[1] then return -1 end\n"
	"redis.call('DEL', KEYS[1])\n"
	"if type(o.internal_id) == 'string' then\n"
	"  redis.call('SREM', ARGV[2] .. o.internal_id, KEYS[1])\n"
	"end\n"
	"return 1\n";
