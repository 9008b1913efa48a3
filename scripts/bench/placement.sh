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

AGGREGATE=$(python3 "$here/fixtures.py" providers "$PLACEMENT" "$TOKEN" "$COUNT")

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
