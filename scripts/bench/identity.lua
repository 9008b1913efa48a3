-- wrk request generator for scripts/bench/identity.sh
wrk.method = os.getenv("BENCH_METHOD")
local body = os.getenv("BENCH_BODY")
local token = os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
if wrk.method == "GET" then
  wrk.headers["X-Auth-Token"] = token
  wrk.headers["X-Subject-Token"] = token
else
  wrk.body = body
end
