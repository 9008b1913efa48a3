#!/usr/bin/env bash
# Crash safety of the boot path: `kill -9` of `stratus serve` during a burst of boots,
# then a restart. Every server must end ACTIVE or ERROR, and no Placement allocation,
# Neutron port or cached image may be left without its server.
#
#   scripts/bench/compute-crash.sh [SERVERS] [STRATUS_BINARY]
#
# Starts its own server (10 simulated hosts) on a fresh data directory and free ports.
# The last line is `crash: N passed, N failed`.
set -uo pipefail

COUNT=${1:-200}
BIN=${2:-.build/debug/stratus}
DATA=$(mktemp -d "${TMPDIR:-/tmp}/stratus-crash.XXXXXX")
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for name in IDENTITY IMAGE NETWORK PLACEMENT COMPUTE COMPUTE_METADATA; do export "STRATUS_${name}_PORT=$(free_port)"; done
export STRATUS_COMPUTE_FAKE_HOSTS=10 STRATUS_DEFAULT_BIND_HOST=127.0.0.1 STRATUS_DEFAULT_PUBLIC_HOST=127.0.0.1
export OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=stratus

start() {
  "$BIN" serve --data-dir "$DATA" --admin-password=crash-test >>"$DATA/server.log" 2>&1 &
  PID=$!
  until curl -s -o /dev/null "http://127.0.0.1:$STRATUS_COMPUTE_PORT/" && [[ -f $DATA/clouds.yaml ]]; do sleep 0.3; done
  sleep 3   # the hosts report to Placement
}

start
openstack quota set --instances -1 --cores -1 --ram -1 --ports -1 admin >/dev/null
NET=$(openstack network create crash-net -f value -c id)
openstack subnet create --network "$NET" --subnet-range 10.201.0.0/20 crash-subnet >/dev/null
head -c 65536 /dev/zero >"$DATA/image.raw"
IMAGE=$(openstack image create --disk-format raw --container-format bare --file "$DATA/image.raw" crash-image -f value -c id)
API=$(openstack endpoint list --service compute --interface public -f value -c URL)
TOKEN=$(openstack token issue -f value -c id)

echo "requesting $COUNT boots, killing the server with SIGKILL in the middle"
for i in $(seq 1 "$COUNT"); do
  printf '{"server": {"name": "crash-%s", "imageRef": "%s", "flavorRef": "42", "networks": [{"uuid": "%s"}]}}\n' "$i" "$IMAGE" "$NET"
done | xargs -P 20 -d '\n' -I{} curl -s -o /dev/null -X POST -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
  --data-raw {} "$API/servers" &
BURST=$!
sleep 2
kill -9 "$PID"
wait "$BURST" 2>/dev/null
echo "killed; $(sqlite3 "$DATA/compute.db" "SELECT vm_state, COUNT(*) FROM instances GROUP BY vm_state" 2>/dev/null | tr '\n' ' ')"
start
echo "restarted; waiting for every server to settle"
for _ in $(seq 1 300); do
  pending=$(openstack server list -f value -c Status | grep -cv 'ACTIVE\|ERROR')
  (( pending == 0 )) && break
  sleep 1
done

PASSED=0 FAILED=0
verdict() { if [[ $2 == 0 ]]; then PASSED=$((PASSED + 1)); echo "PASS $1"; else FAILED=$((FAILED + 1)); echo "FAIL $1: $3"; fi; }
SERVERS=$(openstack server list -f value -c ID | sort)
STATES=$(openstack server list -f value -c Status | sort | uniq -c | tr '\n' ' ')
verdict "every server ACTIVE or ERROR ($STATES)" "$(openstack server list -f value -c Status | grep -cv 'ACTIVE\|ERROR')" "some are still building"
sleep 2
PV=(--os-placement-api-version 1.39)
CONSUMERS=$(for rp in $(openstack resource provider list "${PV[@]}" -f value -c uuid); do
  curl -s -H "X-Auth-Token: $TOKEN" -H 'OpenStack-API-Version: placement 1.39' \
    "$(openstack endpoint list --service placement -f value -c URL | head -1)/resource_providers/$rp/allocations" |
    python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["allocations"]))'
done | sort -u)
ORPHANS=$(comm -23 <(echo "$CONSUMERS" | sed '/^$/d') <(echo "$SERVERS"))
verdict "no allocation without its server" "$(echo -n "$ORPHANS" | grep -c .)" "$ORPHANS"
DEVICES=$(curl -s -H "X-Auth-Token: $TOKEN" "$(openstack endpoint list --service network -f value -c URL | head -1)/v2.0/ports?network_id=$NET&fields=device_id" |
  python3 -c 'import json,sys; print("\n".join(sorted({p["device_id"] for p in json.load(sys.stdin)["ports"]} - {""})))')
ORPHAN_PORTS=$(comm -23 <(echo "$DEVICES" | sed '/^$/d' | sort) <(echo "$SERVERS"))
verdict "no port without its server" "$(echo -n "$ORPHAN_PORTS" | grep -c .)" "$ORPHAN_PORTS"
CACHED=$(ls "$DATA/compute/_base" 2>/dev/null | grep -v "^$IMAGE$" || true)
verdict "no cache file without a server using it" "$(echo -n "$CACHED" | grep -c .)" "$CACHED"
kill "$PID"; wait "$PID" 2>/dev/null
echo "crash: $PASSED passed, $FAILED failed (data in $DATA)"
(( FAILED == 0 ))
