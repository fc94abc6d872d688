-- sso-broker bench: RFC 7662 introspection of one live token, as the panel
-- does it (client_secret_basic), over and over.
--
--   wrk -t T -c C -d Ds -s wrk-introspect.lua http://HOST/oauth2/introspect -- BASIC_AUTH TOKEN [check]
--
-- check : also look at every reply body (slower): 200 with "active":true
--         counts as active, anything else as other.
-- done() prints: RESULT requests= rps= lat_p50_ms= ... active= other=

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   req = wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = "Basic " .. (args[1] or error("usage: -- BASIC TOKEN [check]")) },
      "token=" .. (args[2] or error("usage: -- BASIC TOKEN [check]")))
   active, other = 0, 0
   if args[3] == "check" then
      response = function(status, headers, body)
         if status == 200 and body:find('"active":true', 1, true) then
            active = active + 1
         else
            other = other + 1
         end
      end
   end
end

function request()
   return req
end

function done(summary, latency, requests)
   local a, o = 0, 0
   for _, t in ipairs(threads) do
      a = a + t:get("active")
      o = o + t:get("other")
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d duration_s=%.2f rps=%.1f lat_p50_ms=%.3f lat_p90_ms=%.3f " ..
      "lat_p99_ms=%.3f lat_max_ms=%.3f err_connect=%d err_read=%d err_write=%d " ..
      "err_status=%d err_timeout=%d active=%d other=%d\n",
      summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1000,
      latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      e.connect, e.read, e.write, e.status, e.timeout, a, o))
end
