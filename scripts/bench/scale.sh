#!/usr/bin/env bash
# Speed and memory at scale, every load in one command: builds `stratus` for release (or uses
# STRATUS_BIN), starts a fresh cloud of its own (plain HTTP, SQLite, 50 simulated compute hosts)
# and measures, in this order, with wrk (16 connections unless it says one):
#
#   token re-scopes (the token method), 20,000 of them: req/s, and the resident memory after
#   GET /v3/projects with 1,001 projects, one connection: p50
#   boot 1,000 servers on the 50 hosts (scripts/bench/compute.sh): seconds until all are ACTIVE
#   GET /servers/detail?limit=1000 at 1,000 servers: p50 on one connection, then 20 s on 16
#   GET /allocation_candidates, 1,000 more providers, limit=1000: req/s, and p50 on one connection
#   PUT /allocations/{consumer} for new consumers, one provider each: req/s and errors
#
# The boot comes before the 1,000 Placement providers, which the scheduler would otherwise
# take for compute hosts (and filter out) on every boot.
#
# Each line shows the server's resident memory (VmRSS, sampled every 0.1 s) at its peak during
# that load and 3 s after it.
#
#   scripts/bench/scale.sh [WORK_DIR]     (the cloud's data and log; a new temporary one by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/stratus-scale.XXXXXX")}
mkdir -p "$WORK"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
# Before the venv joins PATH: its `swift` is the object-storage client.
if [[ -z ${STRATUS_BIN-} ]]; then
  swift build -c release --product stratus >&2
  STRATUS_BIN=.build/release/stratus
fi
PATH="$(scripts/venv.sh | tail -1)/bin:$PATH"
export STRATUS_BIN
# shellcheck source=../lib/serve.sh
source scripts/lib/serve.sh
STRATUS_TLS=0 serve_stratus "$WORK/data" "$WORK/server.log" STRATUS_COMPUTE_FAKE_HOSTS=50 \
  STRATUS_NETWORK_DATAPLANE=noop
SERVER=$STRATUS_PID
while kill -0 "$SERVER" 2>/dev/null; do
  awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$SERVER/status" 2>/dev/null || true
  sleep 0.1
done >"$WORK/rss" &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null; stop_stratus $SERVER >/dev/null' EXIT

export OS_CLIENT_CONFIG_FILE=$WORK/data/clouds.yaml OS_CLOUD=stratus
endpoint() { openstack endpoint list --service "$1" --interface public -f value -c URL | head -1; }
PLACEMENT=$(endpoint placement) COMPUTE=$(endpoint compute)
PASSWORD_BODY=$(printf '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
  "domain": {"id": "default"}, "password": "%s"}}}, "scope": {"project": {"name": "admin",
  "domain": {"id": "default"}}}}}' "$ADMIN_PASSWORD")
TOKEN=$(curl -sf -D - -o /dev/null -H 'Content-Type: application/json' -d "$PASSWORD_BODY" "$URL/v3/auth/tokens" |
  awk 'tolower($1) == "x-subject-token:" { print $2 }' | tr -d '\r')

rss_now() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$SERVER/status"; }
# load_start / load_end: the peak resident memory between them, and the level 3 s after.
load_start() { MARK=$(wc -l <"$WORK/rss"); }
load_end() {
  sleep 3
  PEAK=$(tail -n +"$((MARK + 1))" "$WORK/rss" | sort -n | tail -1) AFTER=$(rss_now)
}
# report LOAD FIGURE TARGET: one line of the table.
report() { printf '%-58s %-26s %-22s peak %4s MiB, after %4s MiB\n' "$1" "$2" "$3" "$PEAK" "$AFTER"; }
# wrk_run ARGS...: wrk with latency; sets RPS, P50 and BAD (non-2xx and socket errors).
wrk_run() { wrk_figures < <(wrk --latency "$@"); }
# wrk_figures: the same from wrk's output on stdin.
wrk_figures() {
  local out; out=$(cat)
  RPS=$(awk '/Requests\/sec/ { print int($2) }' <<<"$out")
  P50=$(awk '/^ +50%/ { print $2 }' <<<"$out")
  BAD=$(awk '/Non-2xx/ { bad += $NF } /Socket errors/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 } END { print bad + 0 }' \
    <<<"$out")
}
auth=(-H "X-Auth-Token: $TOKEN")

printf '%-58s %-26s %-22s %s\n' "load" "measured" "target" "server RSS"
echo "(at start: $(rss_now) MiB)"

RESCOPE_BODY=$(printf '{"auth": {"identity": {"methods": ["token"], "token": {"id": "%s"}}, "scope": {"project":
  {"name": "admin", "domain": {"id": "default"}}}}}' "$TOKEN")
BEFORE=$(rss_now); load_start
# wrk has no request count: each thread says when it has made its share, then wrk is
# interrupted, and counts its rate over the time it ran.
BENCH_BODY=$RESCOPE_BODY BENCH_REQUESTS=20000 BENCH_THREADS=2 BENCH_DONE=$WORK/rescoped \
  wrk --latency -t2 -c16 -d300s -s scripts/bench/rescope.lua "$URL/v3/auth/tokens" >"$WORK/rescope.out" &
until [[ -f $WORK/rescoped.1 && -f $WORK/rescoped.2 ]]; do sleep 0.05; done
kill -INT $!; wait $! || true
wrk_figures <"$WORK/rescope.out"
load_end
report "token re-scope (token method)" "$RPS req/s" ">= 5,000 req/s"
report "memory after 20,000 token re-scopes" "$BEFORE -> $AFTER MiB" "<= 80 MiB"

python3 scripts/bench/fixtures.py projects "$URL" "$TOKEN" 1001
load_start; wrk_run -t1 -c1 -d10s "${auth[@]}" "$URL/v3/projects"; load_end
report "GET /v3/projects, $(curl -sf "${auth[@]}" "$URL/v3/projects" | python3 -c \
  'import json, sys; print(len(json.load(sys.stdin)["projects"]))') projects, one connection" "p50 $P50" "p50 <= 5 ms"

load_start
boot=$(BENCH_LISTING=0 scripts/bench/compute.sh "$WORK/data" 1000 50 | tee "$WORK/boot.log" |
  sed -n 's/.* ACTIVE, .* after \([0-9.]*\) s .*/\1/p')
load_end
report "boot 1,000 servers on 50 simulated hosts" "${boot:-?} s to all ACTIVE" "<= 8 s"

detail="$COMPUTE/servers/detail?limit=1000"
load_start; wrk_run -t1 -c1 -d10s "${auth[@]}" "$detail"; load_end
report "GET /servers/detail?limit=1000, 1,000 servers, one conn." "p50 $P50" "<= 10 ms"
load_start; wrk_run -t2 -c16 -d20s "${auth[@]}" "$detail"; load_end
report "the same, 16 connections for 20 s" "$RPS req/s" "RSS <= 200, after <= 150"

python3 scripts/bench/fixtures.py providers "$PLACEMENT" "$TOKEN" 1000 >/dev/null
candidates="$PLACEMENT/allocation_candidates?resources=VCPU:1,MEMORY_MB:512,DISK_GB:10&limit=1000"
placement=(-H "X-Auth-Token: $TOKEN" -H "OpenStack-API-Version: placement 1.39")
load_start; wrk_run -t2 -c16 -d10s "${placement[@]}" "$candidates"; many=$RPS
wrk_run -t1 -c1 -d10s "${placement[@]}" "$candidates"; load_end
report "allocation candidates, 1,000 providers, limit=1000" "$many req/s, p50 $P50" ">= 250 req/s, <= 6 ms"

python3 -c 'import sys; sys.path.insert(0, "scripts/bench"); import fixtures
for n in range(1000): print(fixtures.provider_id(n))' >"$WORK/providers"
load_start
BENCH_TOKEN=$TOKEN BENCH_PROVIDERS=$WORK/providers \
  wrk_run -t2 -c16 -d10s -s scripts/bench/allocations.lua "$PLACEMENT/allocations/"
load_end
report "PUT /allocations/{consumer}, new consumer, one provider" "$RPS req/s, $BAD errors" ">= 2,000 req/s, 0 errors"
