#!/usr/bin/env bash
# Allocation candidates over many resource providers, the scheduler's hot path in Placement.
#
#   scripts/bench/placement.sh DATA_DIR [PROVIDERS] [DURATION] [CONNECTIONS]
#
# Against a running `stratus serve --data-dir DATA_DIR` (use a release build). Creates
# PROVIDERS (default 1000) compute-like providers `bench-rp-N` once, with VCPU, MEMORY_MB
# and DISK_GB inventories, a trait on half of them and an aggregate on a quarter, and
# puts 4 consumers' allocations on each; then measures with wrk (default 10s, 16
# connections) GET /allocation_candidates the way Nova's scheduler asks (limit=1000),
# without a limit, with a required trait, and with member_of. Prints requests/s and
# p50/p99 latency. OpenStack's Placement answers about 10 such queries/s over 1,000
# providers on this kind of machine.
set -euo pipefail

DATA=${1:?usage: placement.sh DATA_DIR [PROVIDERS] [DURATION] [CONNECTIONS]}
COUNT=${2:-1000} DURATION=${3:-10s} CONNECTIONS=${4:-16}
here=$(cd "$(dirname "$0")" && pwd)
export OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=stratus
PLACEMENT=$(openstack endpoint list --service placement --interface public -f value -c URL | head -1)
TOKEN=$(openstack token issue -f value -c id)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

AGGREGATE=$(python3 - "$PLACEMENT" "$TOKEN" "$COUNT" <<'PY'
import http.client, json, sys, urllib.parse, uuid
from concurrent.futures import ThreadPoolExecutor

base, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
url = urllib.parse.urlparse(base)
aggregate = str(uuid.uuid5(uuid.NAMESPACE_DNS, "bench-aggregate.stratus"))

def call(method, path, body=None):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "placement 1.39", "Content-Type": "application/json"}
    conn.request(method, url.path + path, json.dumps(body) if body is not None else None, headers)
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    if reply.status >= 400 and reply.status != 409:
        raise SystemExit(f"{method} {path}: {reply.status} {data[:300]!r}")
    return json.loads(data) if data else {}

def provider(n):
    rp = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-rp-{n}.stratus"))
    if call("GET", f"/resource_providers?uuid={rp}")["resource_providers"]:
        return
    call("POST", "/resource_providers", {"name": f"bench-rp-{n}", "uuid": rp})
    call("PUT", f"/resource_providers/{rp}/inventories", {"resource_provider_generation": 0, "inventories": {
        "VCPU": {"total": 32, "allocation_ratio": 16.0},
        "MEMORY_MB": {"total": 131072, "reserved": 512, "allocation_ratio": 1.5},
        "DISK_GB": {"total": 2000}}})
    generation = 1
    if n % 2 == 0:
        call("PUT", f"/resource_providers/{rp}/traits", {"resource_provider_generation": generation, "traits": ["HW_CPU_X86_AVX2"]})
        generation += 1
    if n % 4 == 0:
        call("PUT", f"/resource_providers/{rp}/aggregates", {"resource_provider_generation": generation, "aggregates": [aggregate]})
    for i in range(4):
        consumer = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-consumer-{n}-{i}.stratus"))
        call("PUT", f"/allocations/{consumer}", {"allocations": {rp: {"resources": {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 40}}},
             "project_id": "bench", "user_id": "bench", "consumer_generation": None})

with ThreadPoolExecutor(16) as pool:
    list(pool.map(provider, range(count)))
print(aggregate)
PY
)

run() {  # name query
  printf '%-34s ' "$1"
  BENCH_TOKEN=$TOKEN BENCH_VERSION=1.39 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$here/placement.lua" "$PLACEMENT/allocation_candidates?$2" \
    | awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
           END {printf "%10s req/s   p50 %-9s p99 %-9s %s\n", rps, p50, p99, (bad ? "non-2xx: " bad : "")}'
}

echo "target: $PLACEMENT  providers: $(curl -s -H "X-Auth-Token: $TOKEN" "$PLACEMENT/resource_providers" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["resource_providers"]))')  duration: $DURATION  connections: $CONNECTIONS"
resources="resources=VCPU:1,MEMORY_MB:512,DISK_GB:10"
run "candidates, limit=1000 (Nova)" "$resources&limit=1000"
run "candidates, no limit" "$resources"
run "candidates, required trait" "$resources&required=HW_CPU_X86_AVX2&limit=1000"
run "candidates, member_of" "$resources&member_of=$AGGREGATE&limit=1000"
