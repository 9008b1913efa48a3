-- wrk request generator for scripts/bench/scale.sh: PUT /allocations/{consumer} for a new
-- consumer each time, on one provider picked at random from the file BENCH_PROVIDERS.
local token = os.getenv("BENCH_TOKEN")
local providers = {}
for line in io.lines(os.getenv("BENCH_PROVIDERS")) do providers[#providers + 1] = line end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args) math.randomseed(os.time() * 100 + seed) end
local function uuid()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = c == "x" and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end
function request()
  local rp = providers[math.random(#providers)]
  local body = '{"allocations": {"' .. rp .. '": {"resources": {"VCPU": 1, "MEMORY_MB": 64}}}, '
    .. '"project_id": "bench", "user_id": "bench", "consumer_generation": null}'
  return wrk.format("PUT", wrk.path .. uuid(), {
    ["X-Auth-Token"] = token, ["OpenStack-API-Version"] = "placement 1.39",
    ["Content-Type"] = "application/json"}, body)
end
