-- sso-broker bench: redeem each minted authorization code exactly once at
-- /oauth2/token (client_secret_basic + PKCE verifier).
--
--   wrk -t T -c C -d Ds -s wrk-redeem-codes.lua http://HOST/oauth2/token -- \
--       CODES T BASIC_AUTH REDIRECT_URI_ENC VERIFIER
--
-- CODES : one code per line; thread k takes lines k, k+T, ...  No code is
--         sent twice: once a thread has sent all its codes, its connections
--         send GET /healthz (not counted) until the last token reply is in,
--         then the thread stops (wrk.thread:stop()).  -d is an upper bound:
--         wrk itself still waits for it to pass.
-- Since wrk divides by -d even when threads stop early, each thread reads
-- the wall clock (date +%s.%N) at its first request and at its last reply,
-- and done() reports redeem_rps = tokens / (last reply - first request).
-- done() prints: RESULT requests= ok= other= redeem_s= redeem_rps= lat_p50_ms= ...

local threads = {}
local nsetup = 0

local function now()
   local f = io.popen("date +%s.%N")
   local t = tonumber(f:read("*l"))
   f:close()
   return t
end

function setup(thread)
   thread:set("id", nsetup)
   nsetup = nsetup + 1
   table.insert(threads, thread)
end

function init(args)
   local file = args[1] or error("usage: -- CODES T BASIC REDIRECT_URI_ENC VERIFIER")
   local nthreads = tonumber(args[2])
   local hdrs = { ["Content-Type"] = "application/x-www-form-urlencoded",
                  ["Authorization"] = "Basic " .. args[3] }
   reqs = {}
   local i = 0
   for line in io.lines(file) do
      if #line > 0 then
         if i % nthreads == id then
            reqs[#reqs + 1] = wrk.format("POST", nil, hdrs,
               "grant_type=authorization_code&code=" .. line ..
               "&redirect_uri=" .. args[4] .. "&code_verifier=" .. args[5])
         end
         i = i + 1
      end
   end
   n = #reqs
   if n == 0 then error("no codes for thread " .. id) end
   -- wrk calls request() once on thread 0 to check the script, and never
   -- sends that request: answer it with a filler so that no code is lost
   verify_pending = (id == 0)
   filler_req = wrk.format("GET", "/healthz")
   pos, got, ok, other, filler = 0, 0, 0, 0, 0
   t0, t1 = 0, 0
end

function request()
   if verify_pending then
      verify_pending = false
      return filler_req
   end
   if pos == 0 then t0 = now() end
   if pos >= n then       -- exhausted: keep the connection busy until the last reply
      return filler_req
   end
   pos = pos + 1
   return reqs[pos]
end

function response(status, headers, body)
   if body == '{"status":"ok"}' then   -- a /healthz filler
      filler = filler + 1
      return
   end
   got = got + 1
   if status == 200 and body:find('"access_token"', 1, true) then
      ok = ok + 1
   else
      other = other + 1
   end
   if got >= n and t1 == 0 then
      t1 = now()
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local ok_, oth, first, last, left = 0, 0, nil, 0, 0
   for _, t in ipairs(threads) do
      ok_ = ok_ + t:get("ok")
      oth = oth + t:get("other")
      local a, b = t:get("t0"), t:get("t1")
      if b == 0 then left = left + (t:get("n") - t:get("got")) end
      if a > 0 and (first == nil or a < first) then first = a end
      if b > last then last = b end
   end
   local secs = (left == 0 and first and last > first) and (last - first) or summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d ok=%d other=%d unsent=%d redeem_s=%.3f redeem_rps=%.1f " ..
      "lat_p50_ms=%.3f lat_p90_ms=%.3f lat_p99_ms=%.3f lat_max_ms=%.3f err_connect=%d " ..
      "err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
      summary.requests, ok_, oth, left, secs, ok_ / secs,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000,
      e.connect, e.read, e.write, e.status, e.timeout))
end
