-- wrk request generator for scripts/bench/object.sh: PUTs of BENCH_SIZE bytes to new
-- names (BENCH_METHOD=PUT), or GETs of the BENCH_OBJECTS objects `<prefix>-<n>` made before.
local method = os.getenv("BENCH_METHOD")
local size = tonumber(os.getenv("BENCH_SIZE"))
local objects = tonumber(os.getenv("BENCH_OBJECTS") or "100")
local prefix = os.getenv("BENCH_PREFIX")
local token = os.getenv("BENCH_TOKEN")
local counter = 0
local thread_id = 0
local threads = 0

function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

local body = nil
if method == "PUT" then body = string.rep("x", size) end

request = function()
  counter = counter + 1
  local headers = { ["X-Auth-Token"] = token }
  if method == "PUT" then
    return wrk.format("PUT", string.format("%s/put-%d-%d", wrk.path, thread_id, counter), headers, body)
  end
  return wrk.format("GET", string.format("%s/%s-%d", wrk.path, prefix, counter % objects), headers)
end
