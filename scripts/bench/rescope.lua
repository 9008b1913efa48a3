-- wrk request generator for scripts/bench/scale.sh: token re-scopes (the token method),
-- BENCH_REQUESTS in all over BENCH_THREADS threads. A thread that has made its share
-- stops and creates the file BENCH_DONE.N; wrk itself runs until it is sent SIGINT.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("number", counter)
end
local quota, done
function init(args)
  quota = math.floor(tonumber(os.getenv("BENCH_REQUESTS")) / tonumber(os.getenv("BENCH_THREADS")))
  done = 0
end
function response(status, headers, body)
  done = done + 1
  if done == quota then
    io.open(os.getenv("BENCH_DONE") .. "." .. number, "w"):close()
    wrk.thread:stop()
  end
end
