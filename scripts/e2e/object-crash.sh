#!/usr/bin/env bash
# Durability of Object Storage: `kill -9` of `stratus serve` during 200 concurrent PUTs to a
# cloud of its own with three devices (three replicas), then a restart on the same data
# directory and ports. Every object whose PUT was answered 201 must come back whole (its
# MD5) and listed; after a replication pass each has a data file on all three devices and
# no partial file is left; a replica deleted by hand comes back with the next pass. Then the
# Image service's `swift` store keeps an image's bytes in Object Storage. Starts its cloud in
# DATA_DIR/object-crash.
#
#   scripts/e2e/object-crash.sh DATA_DIR
#
# Same conventions as identity.sh. E2E_CRASH_OBJECTS (200) sets the number of PUTs and
# E2E_CRASH_AFTER (60) how many 201s to wait for before the kill. The last line is
# `e2e: N passed, N failed`.
set -uo pipefail

SHARED=${1:?usage: object-crash.sh DATA_DIR}
# shellcheck source=../lib/serve.sh
source "$(dirname "$0")/../lib/serve.sh"
D=$SHARED/object-crash LOG=$SHARED/object-crash-server.log
rm -rf "$D"; mkdir -p "$D"   # a fresh cloud each run
SETTINGS=(STRATUS_COMPUTE_FAKE_HOSTS=1 STRATUS_NETWORK_DATAPLANE=noop STRATUS_BLOCK_STORAGE_BACKUP_ENABLED=false
  "STRATUS_OBJECT_STORAGE_DEVICES=$D/objects/d0:0,$D/objects/d1:1,$D/objects/d2:2"
  STRATUS_OBJECT_STORAGE_REPLICATOR_INTERVAL=2 STRATUS_IMAGE_ENABLED_BACKENDS=file:file,objects:swift
  STRATUS_IMAGE_STORE_WEIGHTS= STRATUS_IMAGE_DEFAULT_BACKEND=)  # not the test cloud's stores (scripts/test.sh)
if ! serve_stratus "$D" "$LOG" "${SETTINGS[@]}"; then
  echo "e2e: 0 passed, 1 failed"; exit 1
fi
trap 'stop_stratus "$STRATUS_PID"' EXIT
DATA=$D
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"
COUNT=${E2E_CRASH_OBJECTS:-200} AFTER=${E2E_CRASH_AFTER:-60}
WORK=$D/work; mkdir -p "$WORK/objects" "$WORK/status"

TOKEN=$(openstack token issue -f value -c id)
STORE=$(openstack catalog show object-store -f json | python3 -c '
import json, sys; print([e["url"] for e in json.load(sys.stdin)["endpoints"] if e["interface"] == "public"][0])')
export TOKEN STORE WORK
check -m '^201' "container create" curl -s -o /dev/null -w '%{http_code}' -X PUT -H "X-Auth-Token: $TOKEN" "$STORE/crash"
for i in $(seq 1 "$COUNT"); do head -c $(( (RANDOM % 64 + 1) * 1024 )) /dev/urandom >"$WORK/objects/o$i"; done

# put NAME: one PUT, its status saved where the checks find it.
put() {
  curl -s -o /dev/null -w '%{http_code}' -X PUT -H "X-Auth-Token: $TOKEN" -T "$WORK/objects/$1" \
    "$STORE/crash/$1" >"$WORK/status/$1.tmp" && mv "$WORK/status/$1.tmp" "$WORK/status/$1"
}
export -f put
seq 1 "$COUNT" | sed 's/^/o/' | xargs -P 20 -I{} bash -c 'put {}' &
PUTS=$!
deadline=$((SECONDS + 60))
until (( $(grep -l '^201$' "$WORK"/status/o* 2>/dev/null | wc -l) >= AFTER )) || (( SECONDS > deadline )); do sleep 0.05; done
kill -9 "$STRATUS_PID"; wait "$STRATUS_PID" 2>/dev/null
wait "$PUTS" 2>/dev/null
CREATED=$(grep -l '^201$' "$WORK"/status/o* 2>/dev/null | xargs -rn1 basename | sort)
N=$(wc -w <<<"$CREATED")
check -m '^[1-9]' "some PUTs were answered 201 before the kill ($N of $COUNT)" echo "$N"
restart_stratus "$D" "$LOG" "${SETTINGS[@]}"; RESTARTED=$?   # not under check: it sets STRATUS_PID
check -m '^0$' "the server comes back on the same data" echo "$RESTARTED"
TOKEN=$(openstack token issue -f value -c id)

# whole NAMES...: every named object reads back with the bytes that were sent.
whole() {
  local name bad=0
  for name in "$@"; do
    if [[ $(curl -sf -H "X-Auth-Token: $TOKEN" "$STORE/crash/$name" | md5sum) != "$(md5sum <"$WORK/objects/$name")" ]]; then
      echo "$name differs"; bad=1
    fi
  done
  return $bad
}
check "every object answered 201 reads back whole" whole $CREATED
LISTED=$(curl -sf -H "X-Auth-Token: $TOKEN" "$STORE/crash" | sort)
check "every object answered 201 is listed" bash -c '[[ -z $(comm -23 <(printf "%s\n" $1) <(printf "%s\n" $2)) ]]' _ \
  "$CREATED" "$LISTED"
data_files() { find "$D/objects/$1/objects" -name '*.data' 2>/dev/null | wc -l; }
# settled: no partial file and a copy of every stored object on every device (replication
# passes run every 2 s; 60 s at most).
settled() {
  local i d
  for ((i = 0; i < 120; i++)); do
    local done=1
    [[ -z $(find "$D/objects" -name '.*.part') ]] || done=0
    for d in d0 d1 d2; do (( $(data_files "$d") >= N )) || done=0; done
    (( done )) && return 0
    sleep 0.5
  done
  return 1
}
check "replication settles: every device has every object, no partial file is left" settled
check -m '^0$' "no partial file is left after a replication pass" bash -c "find '$D/objects' -name '.*.part' | wc -l"
for d in d0 d1 d2; do
  check -m "^[0-9]+$" "device $d holds a copy of every stored object" data_files "$d"
  (( $(data_files "$d") >= N )) || { FAILED=$((FAILED + 1)); echo "FAIL $d has $(data_files "$d") data files, $N objects"; }
done
VICTIM=$(find "$D/objects/d1/objects" -name '*.data' | head -1)
rm -f "$VICTIM"
# returns FILE: whether it exists again within 60 s.
returns() { local i; for ((i = 0; i < 120; i++)); do [[ -f $1 ]] && return 0; sleep 0.5; done; return 1; }
check "a replica deleted by hand comes back with a replication pass" returns "$VICTIM"

# --- the Image service's swift store ---------------------------------------------
IMAGES=$(openstack endpoint list --service image --interface public -f value -c URL | head -1)
head -c 3000000 /dev/urandom >"$WORK/image"
check -m '"id"' "image create" curl -sf -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
  -d '{"name": "in-swift", "disk_format": "raw", "container_format": "bare"}' "$IMAGES/v2/images"
IMAGE=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$OUT")
check -m '^204' "upload into the swift store (X-Image-Meta-Store: objects)" curl -s -o /dev/null -w '%{http_code}' \
  -X PUT -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/octet-stream' -H 'X-Image-Meta-Store: objects' \
  --data-binary @"$WORK/image" "$IMAGES/v2/images/$IMAGE/file"
check -m "^$(md5sum <"$WORK/image" | cut -d' ' -f1) " "the image downloads from Object Storage whole" \
  bash -c "curl -sf -H 'X-Auth-Token: $TOKEN' '$IMAGES/v2/images/$IMAGE/file' | md5sum"
check -m '"objects"' "the image's location is the swift store" curl -sf -H "X-Auth-Token: $TOKEN" "$IMAGES/v2/images/$IMAGE"
check "image delete" openstack image delete "$IMAGE"
finish
