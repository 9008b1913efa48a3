#!/usr/bin/env bash
# End-to-end checks of the server lifecycle with python-openstackclient: the actions,
# moves, shelving, snapshots, backups, consoles, security groups and ports, server
# groups and aggregates of the seed documents, on a server with two compute hosts
# (scripts/test.sh starts it with STRATUS_COMPUTE_FAKE_HOSTS=2).
#
#   scripts/e2e/compute-lifecycle.sh DATA_DIR
#
# Same conventions as identity.sh. The last line is `e2e: N passed, N failed`.
set -uo pipefail

DATA=${1:?usage: compute-lifecycle.sh DATA_DIR}
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

host_of() { openstack server show "$1" -f value -c OS-EXT-SRV-ATTR:host; }

head -c 65536 /dev/urandom >"$DATA/lc-image-$S.raw"
check -m '^status="active"' "an image to boot" \
  os image create --disk-format raw --container-format bare --file "$DATA/lc-image-$S.raw" "lc-img-$S" -f shell -c status
check -m '^status="ACTIVE"' "server create --wait" \
  os server create --image "lc-img-$S" --flavor m1.nano --network private --wait "lc-a-$S" -f shell -c status
VM=lc-a-$S

# --- power and state actions ------------------------------------------------------
check "server reboot --soft --wait" os server reboot --soft --wait "$VM"
check "server reboot --hard --wait" os server reboot --hard --wait "$VM"
check "server stop" os server stop "$VM"
check -m '^SHUTOFF$' "stopped server is SHUTOFF" wait_status "$VM" SHUTOFF
check "server start" os server start "$VM"
check -m '^ACTIVE$' "started server is ACTIVE" wait_status "$VM" ACTIVE
check "server pause" os server pause "$VM"
check -m '^PAUSED$' "paused server is PAUSED" wait_status "$VM" PAUSED
check -x -m 'Cannot .suspend.|409' "suspend of a paused server is refused with 409" os server suspend "$VM"
check "server unpause" os server unpause "$VM"
check -m '^ACTIVE$' "unpaused server is ACTIVE" wait_status "$VM" ACTIVE
check "server suspend" os server suspend "$VM"
check -m '^SUSPENDED$' "suspended server is SUSPENDED" wait_status "$VM" SUSPENDED
check "server resume" os server resume "$VM"
check -m '^ACTIVE$' "resumed server is ACTIVE" wait_status "$VM" ACTIVE
check "server lock --reason" os server lock --reason "e2e maintenance" "$VM"
check -m "^locked_reason=\"e2e maintenance\"" "locked server shows its reason" \
  os --os-compute-api-version 2.73 server show "$VM" -f shell -c locked_reason
check "server unlock" os server unlock "$VM"
check "server rescue" os server rescue "$VM"
check -m '^RESCUE$' "rescued server is RESCUE" wait_status "$VM" RESCUE
check "server unrescue" os server unrescue "$VM"
check -m '^ACTIVE$' "unrescued server is ACTIVE" wait_status "$VM" ACTIVE
check -m 'login' "console log show" os console log show "$VM"
check -m 'vnc_lite.html\?path=%3Ftoken%3D' "console url show" os console url show "$VM" -f value -c url
CONSOLE=$(openstack console url show "$VM" -f value -c url)
check -m '^200$' "the console proxy honours the token" curl -s -o /dev/null -w '%{http_code}' "$CONSOLE"
check -m '^401$' "the console proxy refuses a made-up token" curl -s -o /dev/null -w '%{http_code}' "${CONSOLE%token*}token%3Dbad"
# The CLI asks for confirmation before a reset.
check "server set --state error" bash -c "echo y | openstack server set --state error $VM"
check -m '^ERROR$' "server is in ERROR" status "$VM"
check "server set --state active" bash -c "echo y | openstack server set --state active $VM"

# --- rebuild, snapshots and backups -----------------------------------------------
check -m '^status="active"' "a second image" \
  os image create --disk-format raw --container-format bare --file "$DATA/lc-image-$S.raw" "lc-img2-$S" -f shell -c status
check "server rebuild --image --wait" os server rebuild --image "lc-img2-$S" --wait "$VM"
check -m "lc-img2-$S" "rebuilt server runs the new image" os server show "$VM" -f value -c image
check -m '^status="active"' "server image create --wait: the snapshot is active" \
  os server image create --name "lc-snap-$S" --wait "$VM" -f shell -c status
check -m "'image_type': 'snapshot'" "the snapshot names its server" os image show "lc-snap-$S" -f value -c properties
for n in 1 2 3; do
  check "server backup create --rotate 2 ($n)" os server backup create --name "lc-bk$n-$S" --type daily --rotate 2 --wait "$VM"
done
check -m "lc-bk2-$S" -m "lc-bk3-$S" -n "lc-bk1-$S" "rotation keeps the two newest backups" os image list -f value -c Name

# --- resize and migrations ------------------------------------------------------
check "server resize --flavor --wait" os server resize --flavor m1.tiny --wait "$VM"
check -m '^VERIFY_RESIZE$' "resized server waits for confirmation" status "$VM"
check "server resize confirm" os server resize confirm "$VM"
check -m '^ACTIVE$' "confirmed server is ACTIVE" wait_status "$VM" ACTIVE
check -m "m1.tiny" "confirmed server has the new flavor" os server show "$VM" -f value -c flavor
check -m '^status="ACTIVE"' "a second server" \
  os server create --image "lc-img-$S" --flavor m1.nano --network private --wait "lc-b-$S" -f shell -c status
check "server resize --flavor on the second server" os server resize --flavor m1.tiny --wait "lc-b-$S"
check "server resize revert" os server resize revert "lc-b-$S"
check -m '^ACTIVE$' "reverted server is ACTIVE" wait_status "lc-b-$S" ACTIVE
check -m "m1.nano" "reverted server has its old flavor" os server show "lc-b-$S" -f value -c flavor
BEFORE=$(host_of "$VM")
check "server migrate --wait" os server migrate --wait "$VM"
check -m '^VERIFY_RESIZE$' "migrated server waits for confirmation" status "$VM"
check "server migration confirm" os server migration confirm "$VM"
check -m '^ACTIVE$' "confirmed migration is ACTIVE" wait_status "$VM" ACTIVE
check -n "^$BEFORE\$" "the server moved to the other host" host_of "$VM"
BEFORE=$(host_of "$VM")
check "server migrate --live-migration --wait" os server migrate --live-migration --wait "$VM"
check -n "^$BEFORE\$" "the live-migrated server is on the other host" host_of "$VM"
SOURCE=$(host_of "$VM")
check "compute service set --down (its host fails)" os compute service set --down "$SOURCE" nova-compute
# (the CLI's `evacuate --wait` compares 'ACTIVE' with a lower-cased status and never returns)
check "server evacuate" os server evacuate "$VM"
check -m '^ACTIVE$' "the evacuated server settles ACTIVE" wait_status "$VM" ACTIVE
check -n "^$SOURCE\$" "the evacuated server runs on the other host" host_of "$VM"
check "compute service set --up" os compute service set --up "$SOURCE" nova-compute
check -m 'resize' -m 'migration' -m 'live-migration' -m 'evacuation' "server migration list" os server migration list --server "$VM" -f value -c Type
PROJECT=$(openstack token issue -f value -c project_id) USER_ID=$(openstack token issue -f value -c user_id)
check -m "^($USER_ID $PROJECT|$PROJECT $USER_ID)\$" "server migration list --project --user (2.80): the requester's ids" \
  os server migration list --os-compute-api-version 2.80 --server "$VM" --project "$PROJECT" --user "$USER_ID" -f value -c User -c Project
check -m 'live-migration' -m 'evacuate' -m 'rebuild' -m 'createImage' "server event list" os server event list "$VM" -f value -c Action

# --- shelve --------------------------------------------------------------------------
check "server shelve" os server shelve --wait "$VM"
check -m '^SHELVED_OFFLOADED$' "shelved server is offloaded" wait_status "$VM" SHELVED_OFFLOADED
check -m "$VM-shelved" "its shelve snapshot is in the Image service" os image list -f value -c Name
check "server unshelve --wait" os server unshelve --wait "$VM"
check -m '^ACTIVE$' "unshelved server is ACTIVE" wait_status "$VM" ACTIVE
check -n "$VM-shelved" "the shelve snapshot is gone" os image list -f value -c Name
check "server shelve (kept on its host)" os --os-compute-api-version 2.1 server shelve "lc-b-$S"
check -m '^SHELVED' "second server is shelved" bash -c "sleep 2; openstack server show lc-b-$S -f value -c status"
check "server shelve offload" os server shelve --offload "lc-b-$S"
check -m '^SHELVED_OFFLOADED$' "second server is offloaded" wait_status "lc-b-$S" SHELVED_OFFLOADED

# --- security groups and ports ------------------------------------------------------
check -m '^name="lc-sg' "a security group" os security group create "lc-sg-$S" -f shell -c name
check "server add security group" os server add security group "$VM" "lc-sg-$S"
check -m "lc-sg-$S" "the server is in the group" os server show "$VM" -f value -c security_groups
check "server remove security group" os server remove security group "$VM" "lc-sg-$S"
check -n "lc-sg-$S" "the server left the group" os server show "$VM" -f value -c security_groups
check -m '^name="lc-port' "a port" os port create --network private "lc-port-$S" -f shell -c name
PORT_IP=$(openstack port show "lc-port-$S" -f json -c fixed_ips | python3 -c 'import json,sys; print(json.load(sys.stdin)["fixed_ips"][0]["ip_address"])')
check "server add port" os server add port "$VM" "lc-port-$S"
check -m "$PORT_IP" "the server has the port's address" os server show "$VM" -f value -c addresses
check "server remove port" os server remove port "$VM" "lc-port-$S"
check -n "$PORT_IP" "the address is gone from the server" bash -c "sleep 1; openstack server show $VM -f value -c addresses"

# --- server groups and aggregates --------------------------------------------------
check -m '^policy="anti-affinity"' "server group create --policy anti-affinity" \
  os server group create --policy anti-affinity "lc-group-$S" -f shell -c policy
GROUP=$(openstack server group show "lc-group-$S" -f value -c id)
check "two servers in the group" os server create --image "lc-img-$S" --flavor m1.nano --network private --hint "group=$GROUP" \
  --min 2 --max 2 --wait "lc-g-$S"
check -m '^2$' "they landed on distinct hosts" \
  bash -c "for s in lc-g-$S-1 lc-g-$S-2; do openstack server show \$s -f value -c OS-EXT-SRV-ATTR:host; done | sort -u | wc -l"
check -m "$(openstack server show "lc-g-$S-1" -f value -c id)" "the group lists its members" os server group show "lc-group-$S" -f value -c members
HOST1=$(openstack compute service list --service nova-compute -f value -c Host | head -1)
check -m '^availability_zone="lc-az' "aggregate create --zone" os aggregate create --zone "lc-az-$S" "lc-agg-$S" -f shell -c availability_zone
check -m "$HOST1" "aggregate add host" os aggregate add host "lc-agg-$S" "$HOST1" -f value -c hosts
check "aggregate set --property" os aggregate set --property ssd=true "lc-agg-$S"
check -m "'ssd': 'true'" "aggregate show has the property" os aggregate show "lc-agg-$S" -f value -c properties
head -c 4096 /dev/urandom >"$DATA/lc-cache-$S.raw"
CACHED=$(openstack image create --disk-format raw --container-format bare --file "$DATA/lc-cache-$S.raw" "lc-cache-$S" -f value -c id)
check "aggregate cache image (2.81)" os aggregate cache image "lc-agg-$S" "lc-cache-$S"
check -m '^cached$' "the image is in the host's image cache before any server uses it" bash -c \
  "for i in \$(seq 40); do [[ -f '$DATA/compute/_base/$CACHED' ]] && break; sleep 0.25; done; [[ -f '$DATA/compute/_base/$CACHED' ]] && echo cached"
COMPUTE=$(openstack endpoint list --service compute --interface public -f value -c URL | head -1)
TOKEN=$(openstack token issue -f value -c id)
AGGREGATE=$(openstack aggregate show "lc-agg-$S" -f value -c id)
check -m 'Image 00000000-0000-4000-8000-000000000000 could not be found' -m '^400$' "caching an unknown image is refused with 400" \
  curl -s -w '\n%{http_code}\n' -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' -H 'OpenStack-API-Version: compute 2.81' \
  -d '{"cache": [{"id": "00000000-0000-4000-8000-000000000000"}]}' "$COMPUTE/os-aggregates/$AGGREGATE/images"
check -m "lc-az-$S" "the zone is listed" os availability zone list --compute -f value -c 'Zone Name'
check -m "^$HOST1\$" "a server asked into the zone lands on its host" \
  bash -c "openstack server create --image lc-img-$S --flavor m1.nano --network private --availability-zone lc-az-$S --wait lc-z-$S -f value -c OS-EXT-SRV-ATTR:host"
RP=$(openstack resource provider list --os-placement-api-version 1.39 --name "$HOST1" -f value -c uuid)
check -m "$(openstack aggregate show "lc-agg-$S" --os-compute-api-version 2.41 -f value -c uuid)" "the aggregate is mirrored in Placement" \
  os resource provider aggregate list --os-placement-api-version 1.39 "$RP" -f value

# --- racing actions: one wins, the others get 409, nothing leaks ----------------------
# Sends the two action bodies at once to server $1; prints their status codes, sorted.
race() {
  local code=(curl -s -o /dev/null -w '%{http_code}\n' -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' -X POST)
  { "${code[@]}" -d "$2" "$COMPUTE/servers/$1/action" & "${code[@]}" -d "$3" "$COMPUTE/servers/$1/action" & wait; } | sort | tr '\n' ' '
}
RACER=$(openstack server show "lc-g-$S-1" -f value -c id)
check -m '^202 409 $' "two resizes at once: one is accepted, the other gets 409" \
  race "$RACER" '{"resize": {"flavorRef": "1"}}' '{"resize": {"flavorRef": "1"}}'
check -m '^VERIFY_RESIZE$' "the winning resize finishes" wait_status "$RACER" VERIFY_RESIZE
check "its resize is confirmed" os server resize confirm "$RACER"
check -m '^ACTIVE$' "the confirmed racer is ACTIVE" wait_status "$RACER" ACTIVE
IMAGE=$(openstack image show "lc-img-$S" -f value -c id)
# The fake driver's reboot can finish while the rebuild still checks its image with
# Glance, so both may be accepted one after the other; never a 5xx, never both refused.
check -m '^202 (202|409) $' "rebuild and reboot at once: one is accepted, the other after it or with 409" \
  race "$RACER" "{\"rebuild\": {\"imageRef\": \"$IMAGE\"}}" '{"reboot": {"type": "HARD"}}'
check -m '^ACTIVE$' "the racer settles ACTIVE" wait_status "$RACER" ACTIVE
RACER2=$(openstack server show "lc-g-$S-2" -f value -c id)
check -m '^(202|409)$' "a resize accepted just before a delete" bash -c \
  "curl -s -o /dev/null -w '%{http_code}' -H 'X-Auth-Token: $TOKEN' -H 'Content-Type: application/json' -X POST -d '{\"resize\": {\"flavorRef\": \"1\"}}' $COMPUTE/servers/$RACER2/action"
check "a delete during the resize" os server delete --wait "$RACER2"
check -x -m 'No [Ss]erver|could not be found' "the server deleted mid-resize is gone" os server show "$RACER2"
check -n '[0-9a-f]{8}-' "no allocation is left for it" bash -c "openstack resource provider allocation show --os-placement-api-version 1.39 $RACER2 -f value 2>&1"

# --- delete and clean-up -------------------------------------------------------------
check "server delete --wait" os server delete --wait "$VM" "lc-b-$S" "lc-g-$S-1" "lc-z-$S"
check "aggregate remove host" os aggregate remove host "lc-agg-$S" "$HOST1"
check "aggregate delete" os aggregate delete "lc-agg-$S"
check -n 'lc-' "no allocation is left by the deleted servers" \
  bash -c "openstack resource provider usage show --os-placement-api-version 1.39 $RP -f value | grep -v ' 0$' | sed 's/^/lc-/' || true"

finish
