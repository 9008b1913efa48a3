#!/usr/bin/env bash
# Measures Object Storage listings at scale: one container holding COUNT objects (a million by
# default, in 1000 directories), its rows written straight into the service's database (the
# bytes are not what a listing reads), then with wrk on loopback: pages of 1000 names from
# random markers, one directory by prefix, 1000 subdirs by delimiter, HEAD, and pages again
# while writers PUT 4 KiB objects into the same container. A full walk with `marker` checks
# that every name is listed once.
#
#   STRATUS_BIN=.build/release/stratus scripts/bench/listing.sh DATA_DIR [COUNT] [DURATION] [CONNECTIONS]
#
# COUNT (1000000), DURATION (10s) and CONNECTIONS (8) go to the seeding and wrk.
set -uo pipefail
DATA=${1:?usage: listing.sh DATA_DIR [COUNT] [DURATION] [CONNECTIONS]}
COUNT=${2:-1000000} DURATION=${3:-10s} CONNECTIONS=${4:-8}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/serve.sh
source "$HERE/../lib/serve.sh"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

# workload NAME MODE [CONNECTIONS]: wrk's requests per second and latency percentiles.
workload() {
  printf '  %-34s ' "$1"
  BENCH_MODE=$2 BENCH_COUNT=$COUNT BENCH_TOKEN=$TOKEN \
    wrk -t2 -c"${3:-$CONNECTIONS}" -d"$DURATION" --latency -s "$HERE/listing.lua" "$STORE/big" |
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
      END {printf "%10s req/s  p50 %-9s p99 %-9s %s\n", rps, p50, p99, (bad ? "non-2xx: " bad : "")}'
}

dir=$DATA/listing; rm -rf "$dir"; mkdir -p "$dir"
serve_stratus "$dir" "$dir.log" STRATUS_COMPUTE_FAKE_HOSTS=1 STRATUS_NETWORK_DATAPLANE=noop \
  STRATUS_OBJECT_STORAGE_REPLICATOR_INTERVAL=0 || exit 1
export OS_CLIENT_CONFIG_FILE=$dir/clouds.yaml OS_CLOUD=stratus
TOKEN=$(openstack token issue -f value -c id)
ACCOUNT=AUTH_$(openstack token issue -f value -c project_id)
STORE=http://127.0.0.1:$OBJECT_PORT/v1/$ACCOUNT
curl -sf -o /dev/null -X PUT -H "X-Auth-Token: $TOKEN" "$STORE/big"

started=$EPOCHREALTIME
python3 - "$dir/object_storage.db" "$ACCOUNT" "$COUNT" <<'PY'
import sqlite3, sys, time
path, account, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(path, timeout=60)
stamp = "%016.5f" % time.time()
db.execute("""
    WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
    INSERT INTO os_objects (account, container, name, timestamp, size, content_type, etag)
    SELECT ?, 'big', printf('d%03d/o%07d', i % 1000, i), ?, 4096, 'application/octet-stream',
           '0f343b0931126a20f133d67c2b018a3b' FROM seq""", (count - 1, account, stamp))
db.execute("UPDATE os_containers SET object_count = object_count + ?, bytes_used = bytes_used + ? "
           "WHERE account = ? AND name = 'big'", (count, count * 4096, account))
db.execute("UPDATE os_accounts SET object_count = object_count + ?, bytes_used = bytes_used + ? "
           "WHERE name = ?", (count, count * 4096, account))
db.commit()
PY
echo "$COUNT objects in one container (rows seeded in $(awk -v a="$started" -v b="$EPOCHREALTIME" \
  'BEGIN { printf "%.1f", b - a }') s); wrk -c$CONNECTIONS -d$DURATION on $STORE/big"

# A full walk, 10000 names a page: every name once, in order.
started=$EPOCHREALTIME marker="" listed=0 pages=0
while :; do
  page=$(curl -sf -H "X-Auth-Token: $TOKEN" "$STORE/big?limit=10000&marker=$marker") || break
  [[ -z $page ]] && break
  listed=$((listed + $(wc -l <<<"$page"))) pages=$((pages + 1)) marker=$(tail -1 <<<"$page")
done
walk=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "  full walk: $listed of $COUNT names in $pages pages, $walk s ($([[ $listed == "$COUNT" ]] && echo ok || echo WRONG))"

workload "GET page of 1000 (random marker)" page
workload "GET one directory (prefix)" prefix
workload "GET 1000 subdirs (delimiter)" delimiter
workload "HEAD container" head
BENCH_MODE=put BENCH_COUNT=$COUNT BENCH_TOKEN=$TOKEN wrk -t1 -c4 -d"$DURATION" -s "$HERE/listing.lua" \
  "$STORE/big" >"$dir/writers.txt" &
writers=$!
workload "GET page of 1000, 4 writers beside" page
wait "$writers"
awk '/Requests\/sec/ {printf "  %-34s %10s req/s\n", "PUT 4 KiB by those writers", $2}' "$dir/writers.txt"
stop_stratus "$STRATUS_PID"
