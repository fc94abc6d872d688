-- sso-broker bench: mint authorization codes through the real /oauth2/authorize
-- with an existing browser session (sign in once), one code per request.
--
--   wrk -t T -c C -d Ds -s wrk-mint-codes.lua 'http://HOST/oauth2/authorize?...' -- COOKIE OUTPREFIX
--
-- COOKIE    : "ssob_s_acme=..." (the session cookie the ACS set)
-- OUTPREFIX : each thread appends the codes it got to OUTPREFIX.<thread id>,
--             one per line.  A reply that is not a 302/303 to the panel's
--             redirect_uri with a code counts as "other".
-- done() prints: RESULT requests= rps= lat_p50_ms= lat_p99_ms= ... codes= other=

local threads = {}
local nsetup = 0

function setup(thread)
   thread:set("id", nsetup)
   nsetup = nsetup + 1
   table.insert(threads, thread)
end

function init(args)
   local cookie = args[1] or error("usage: -- COOKIE OUTPREFIX")
   local prefix = args[2] or error("usage: -- COOKIE OUTPREFIX")
   out = assert(io.open(prefix .. "." .. id, "a"))
   req = wrk.format("GET", nil, { ["Cookie"] = cookie })
   codes, other = 0, 0
end

function request()
   return req
end

function response(status, headers, body)
   local loc = headers["Location"] or headers["location"]
   local code = loc and (status == 302 or status == 303) and loc:match("[?&]code=([^&]+)")
   if code then
      out:write(code, "\n")
      codes = codes + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local c, o = 0, 0
   for _, t in ipairs(threads) do
      c = c + t:get("codes")
      o = o + t:get("other")
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d duration_s=%.2f rps=%.1f lat_p50_ms=%.3f lat_p90_ms=%.3f " ..
      "lat_p99_ms=%.3f lat_max_ms=%.3f err_connect=%d err_read=%d err_write=%d " ..
      "err_status=%d err_timeout=%d codes=%d other=%d\n",
      summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1000,
      latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      e.connect, e.read, e.write, e.status, e.timeout, c, o))
end
