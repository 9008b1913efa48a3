#!/usr/bin/env bash
# Measures Object Storage with wrk on loopback: PUTs and GETs per second of 4 KiB objects,
# and PUT and GET MB/s of 1 MiB objects, on two clouds of its own, one device (one replica)
# and three devices (three replicas), started from STRATUS_BIN (build it with
# `swift build -c release` for real numbers) in DATA_DIR.
#
#   STRATUS_BIN=.build/release/stratus scripts/bench/object.sh DATA_DIR [DURATION] [CONNECTIONS]
#
# DURATION (10s) and CONNECTIONS (16) go to wrk. Prints one line per workload.
set -uo pipefail
DATA=${1:?usage: object.sh DATA_DIR [DURATION] [CONNECTIONS]}
DURATION=${2:-10s} CONNECTIONS=${3:-16}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/serve.sh
source "$HERE/../lib/serve.sh"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

# workload NAME METHOD SIZE: wrk's throughput, and MB/s for sizes of a MiB or more.
workload() {
  local name=$1 method=$2 size=$3
  printf '  %-28s ' "$name"
  BENCH_METHOD=$method BENCH_SIZE=$size BENCH_PREFIX=get-$size BENCH_TOKEN=$TOKEN \
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/object.lua" "$STORE/bench" |
    awk -v size="$size" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
      END {mbs = size >= 1048576 ? sprintf("%8.1f MB/s", rps * size / 1048576) : ""
           printf "%10s req/s %s  p50 %-9s p99 %-9s %s\n", rps, mbs, p50, p99, (bad ? "non-2xx: " bad : "")}'
}

# seed SIZE: the 100 objects GETs read.
seed() {
  head -c "$1" /dev/zero >"$DATA/seed"
  for i in $(seq 0 99); do
    curl -sf -o /dev/null -X PUT -H "X-Auth-Token: $TOKEN" -T "$DATA/seed" "$STORE/bench/get-$1-$i" || return 1
  done
}

for devices in 1 3; do
  dir=$DATA/bench-$devices; rm -rf "$dir"; mkdir -p "$dir"
  list=$(for ((d = 0; d < devices; d++)); do printf '%s/objects/d%d:%d,' "$dir" "$d" "$d"; done)
  if ! serve_stratus "$dir" "$dir.log" STRATUS_COMPUTE_FAKE_HOSTS=1 STRATUS_NETWORK_DATAPLANE=noop \
    "STRATUS_OBJECT_STORAGE_DEVICES=${list%,}" STRATUS_OBJECT_STORAGE_REPLICATOR_INTERVAL=0; then
    exit 1
  fi
  export OS_CLIENT_CONFIG_FILE=$dir/clouds.yaml OS_CLOUD=stratus
  TOKEN=$(openstack token issue -f value -c id)
  STORE=http://127.0.0.1:$OBJECT_PORT/v1/AUTH_$(openstack token issue -f value -c project_id)
  curl -sf -o /dev/null -X PUT -H "X-Auth-Token: $TOKEN" "$STORE/bench"
  echo "$devices device(s), $devices replica(s): wrk -c$CONNECTIONS -d$DURATION on $STORE"
  seed 4096 && workload "PUT 4 KiB" PUT 4096 && workload "GET 4 KiB" GET 4096
  seed 1048576 && workload "PUT 1 MiB" PUT 1048576 && workload "GET 1 MiB" GET 1048576
  stop_stratus "$STRATUS_PID"
done
rm -f "$DATA/seed"
