-- wrk_bodies.lua - wrk script for bench/serve.sh and bench/soak.sh.
--
-- WRK_BODIES names a file of requests, one a line: "PATH<TAB>JSON" (a
-- POST of JSON to PATH) or "PATH" alone (a GET). Every connection of a wrk
-- thread takes the next line in turn, cycling; thread t starts at line
-- t * 97. Without WRK_BODIES, wrk's own request (GET of the URL) is sent.
--
-- done() prints one machine-readable line after wrk's report:
--   RESULT requests=N seconds=S rps=R p50_ms=A p90_ms=B p99_ms=C max_ms=D
--          non2xx=E connect=F read=G write=H timeout=I
-- wrk counts a request's latency from its write to the end of its reply.

local reqs = {}
local file = os.getenv("WRK_BODIES")
if file and file ~= "" then
   for line in io.lines(file) do
      local path, body = line:match("^([^\t]+)\t(.*)$")
      if path then
         reqs[#reqs + 1] = wrk.format("POST", path,
            {["Content-Type"] = "application/json"}, body)
      elseif line ~= "" then
         reqs[#reqs + 1] = wrk.format("GET", line)
      end
   end
end

local n_threads = 0
function setup(thread)
   thread:set("tid", n_threads)
   n_threads = n_threads + 1
end

local i = 0
function init(args)
   if #reqs > 0 then i = ((tid or 0) * 97) % #reqs end
end

if #reqs > 0 then
   request = function()
      i = i % #reqs + 1
      return reqs[i]
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local s = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
      "max_ms=%.3f non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, s, summary.requests / s,
      latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
      latency:percentile(99) / 1e3, latency.max / 1e3,
      e.status, e.connect, e.read, e.write, e.timeout))
end
