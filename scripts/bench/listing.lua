-- wrk request generator for scripts/bench/listing.sh. BENCH_MODE picks the request:
--   page       a JSON page of 1000 names from a random marker
--   prefix     the names of one random directory (`d<n>/`), 1000 a page
--   delimiter  1000 directories (`subdir` entries) from a random marker
--   head       the container's HEAD (its counts)
--   put        a 4 KiB object to a new name (the writers beside the readers)
-- Names are `d<000-999>/o<0000000...>` as the seeding made BENCH_COUNT of them.
local mode = os.getenv("BENCH_MODE")
local count = tonumber(os.getenv("BENCH_COUNT"))
local token = os.getenv("BENCH_TOKEN")
local counter = 0
local thread_id = 0
local threads = 0
local body = string.rep("x", 4096)

function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

local function name(i)
  return string.format("d%03d/o%07d", i % 1000, i)
end

request = function()
  counter = counter + 1
  local headers = { ["X-Auth-Token"] = token }
  local i = math.random(0, count - 1)
  if mode == "put" then
    return wrk.format("PUT", string.format("%s/w%d/%d", wrk.path, thread_id, counter), headers, body)
  elseif mode == "head" then
    return wrk.format("HEAD", wrk.path, headers)
  elseif mode == "prefix" then
    return wrk.format("GET", string.format("%s?format=json&limit=1000&prefix=d%03d/", wrk.path, i % 1000), headers)
  elseif mode == "delimiter" then
    return wrk.format("GET", string.format("%s?format=json&limit=1000&delimiter=/&marker=d%03d", wrk.path,
      i % 1000), headers)
  end
  return wrk.format("GET", string.format("%s?format=json&limit=1000&marker=%s", wrk.path, name(i)), headers)
end
