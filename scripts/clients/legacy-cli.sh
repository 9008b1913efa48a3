#!/usr/bin/env bash
# Stratus driven by the legacy `nova` (python-novaclient) and `glance`
# (python-glanceclient) CLIs, unchanged: the commands of the seed documents (glance
# image-create/-list/-show/-upload --store, stores-info; nova boot/list/show,
# flavor-list, flavor-key, hypervisor-list, service-list, keypair-add/-list, quota-show,
# aggregate-cache-images, evacuate) and their neighbours (image import, server actions,
# live/cold migration, resize, snapshots, backups, server groups), then cleanup.
# (The seeds' `nova secgroup-add-rule` and `nova image-list` left novaclient long ago.)
#
#   scripts/clients/legacy-cli.sh DATA_DIR
#
# DATA_DIR is the running server's --data-dir (its clouds.yaml names cloud `stratus`).
# The legacy CLIs read only OS_* variables: taken from URL and ADMIN_PASSWORD, else
# from clouds.yaml. They come from the venv of scripts/requirements-clients.txt;
# `openstack` (on PATH, the e2e venv) only looks up IDs. Each check prints PASS/FAIL;
# the last line is `clients-legacy: N passed, N failed`; exit status 1 if any failed.
set -uo pipefail

# shellcheck source=../lib/clients.sh
source "$(dirname "$0")/../lib/clients.sh"
clients_init clients-legacy "${1:?usage: legacy-cli.sh DATA_DIR}"
# shellcheck source=../lib/e2e.sh
source "$HERE/../lib/e2e.sh"
finish() {
  echo "clients-legacy: $PASSED passed, $FAILED failed"
  (( FAILED == 0 ))
}

cloud() { # KEY: auth.KEY of cloud stratus in clouds.yaml
  "$VENV/bin/python" -c 'import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["clouds"]["stratus"]["auth"].get(sys.argv[2], ""))' \
    "$DATA/clouds.yaml" "$1"
}
AUTH=$(cloud auth_url); AUTH=${AUTH%/}
export OS_AUTH_URL=${URL:+${URL%/}/v3}
OS_AUTH_URL=${OS_AUTH_URL:-${AUTH%/v3}/v3}
export OS_USERNAME=admin OS_PASSWORD=${ADMIN_PASSWORD:-$(cloud password)} OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3
nova() { "$VENV/bin/nova" "$@"; }
nostdin() { "$@" <&-; }
glance() { "$VENV/bin/glance" "$@"; }
# field NAME: the Value column of row NAME in $OUT (a `| Property | Value |` table).
field() {
  awk -F'|' -v k="$1" '{ p = $2; gsub(/^ +| +$/, "", p) } p == k { v = $3; gsub(/^ +| +$/, "", v); print v; exit }' \
    <<<"$OUT"
}
wait_gone() { # SERVER: waits up to 30 s for `nova show` to fail
  local i; for ((i = 0; i < 60; i++)); do nova show "$1" >/dev/null 2>&1 || return 0; sleep 0.5; done; return 1
}
wait_image() { # IMAGE STATUS: waits up to 30 s for the status, then prints it
  local i s; for ((i = 0; i < 60; i++)); do
    s=$(glance image-show "$1" 2>/dev/null | awk -F'|' '$2 ~ /^ status +$/ { gsub(/ /, "", $3); print $3 }')
    [[ $s == "$2" ]] && break; sleep 0.5
  done; echo "$s"
}
host_of() { nova show "$1" 2>/dev/null | awk -F'|' '$2 ~ /OS-EXT-SRV-ATTR:host / { gsub(/ /, "", $3); print $3 }'; }
wait_nova() { # SERVER STATUS: waits up to 30 s for the status, then prints it
  local i s; for ((i = 0; i < 60; i++)); do
    s=$(nova show "$1" 2>/dev/null | awk -F'|' '$2 ~ /^ status +$/ { gsub(/ /, "", $3); print $3 }')
    [[ $s == "$2" ]] && break; sleep 0.5
  done; echo "$s"
}

IMG=leg-img-$S IMG2=leg-img2-$S KEY=leg-key-$S VM=leg-vm-$S FLV=leg-flv-$S AGG=leg-agg-$S
WORK=$DATA/clients-legacy-$S
mkdir -p "$WORK"
head -c 65536 /dev/urandom >"$WORK/image.raw"
ssh-keygen -q -t ed25519 -N '' -C "$KEY" -f "$WORK/id_ed25519"

# --- glance -----------------------------------------------------------------------
check -m 'status +\| active' -m "name +\| $IMG" "glance image-create --file (raw, public)" \
  glance image-create --disk-format raw --container-format bare --visibility public --name "$IMG" \
  --file "$WORK/image.raw"
IMG_ID=$(field id)
check -m "$IMG" "glance image-list" glance image-list
check -m "id +\| $IMG_ID" -m 'size +\| 65536' -m "checksum +\| $(md5sum <"$WORK/image.raw" | cut -c1-32)" \
  "glance image-show" glance image-show "$IMG_ID"
# With no --file, glance uploads its standard input unless that is closed.
check -m 'status +\| queued' "glance image-create (no data)" \
  nostdin glance image-create --disk-format raw --container-format bare --name "$IMG2"
IMG2_ID=$(field id)
# the cloud's default store (the test cloud's are `fast`, `slow` and a read-only `web`; `file` by default)
IMAGE_URL=$(openstack endpoint list --service image --interface public -f value -c URL | head -1)
STORE=$(curl -s -H "X-Auth-Token: $(openstack token issue -f value -c id)" "$IMAGE_URL/v2/info/stores" |
  python3 -c 'import json, sys; print(next(s["id"] for s in json.load(sys.stdin)["stores"] if s.get("default")))')
check "glance image-upload --file --store (seed)" glance image-upload --file "$WORK/image.raw" --store "$STORE" "$IMG2_ID"
check -m "stores +\\| $STORE" -m 'status +\| active' "uploaded image is active" glance image-show "$IMG2_ID"
check -m 'os_distro +\| cirros' "glance image-update --property" \
  glance image-update --property os_distro=cirros --min-disk 1 "$IMG2_ID"
check -m 'e2e' "glance image-tag-update" glance image-tag-update "$IMG2_ID" e2e
check -m "$IMG2" "glance image-list --tag" glance image-list --tag e2e
check "glance image-download" glance image-download --file "$WORK/download.raw" "$IMG_ID"
check "downloaded image matches" cmp "$WORK/image.raw" "$WORK/download.raw"
check -m 'stores' "glance stores-info" glance stores-info
check -m 'import-methods' -m 'web-download' "glance import-info" glance import-info
check -m 'status +\| (importing|active)' "glance image-create-via-import --import-method glance-direct" \
  nostdin glance image-create-via-import --disk-format raw --container-format bare --name "leg-imp-$S" \
  --file "$WORK/image.raw" --import-method glance-direct
IMP_ID=$(field id)
check -m '^active$' "imported image becomes active" wait_image "$IMP_ID" active
check "glance image-delete (imported)" glance image-delete "$IMP_ID"
check "glance image-deactivate" glance image-deactivate "$IMG2_ID"
check -m 'status +\| deactivated' "deactivated image" glance image-show "$IMG2_ID"
check "glance image-reactivate" glance image-reactivate "$IMG2_ID"
check "glance image-delete" glance image-delete "$IMG2_ID"
check -x "deleted image is gone" glance image-show "$IMG2_ID"

# --- nova: the cloud's inventory ----------------------------------------------------
check -m 'm1\.nano' "nova flavor-list" nova flavor-list
check -m 'name +\| m1\.nano' "nova flavor-show" nova flavor-show m1.nano
check -m "$FLV" "nova flavor-create" nova flavor-create "$FLV" auto 128 1 1
check "nova flavor-key set (seed: flavor-key ssd.large set ssd=true)" nova flavor-key "$FLV" set ssd=true
check -m 'ssd.*true' "flavor-show shows the extra spec" nova flavor-show "$FLV"
check "nova flavor-delete" nova flavor-delete "$FLV"
check -m 'up' "nova hypervisor-list" nova hypervisor-list
HYP=$(awk -F'|' 'NR > 3 && NF > 3 { gsub(/ /, "", $2); print $2; exit }' <<<"$OUT")
check -m 'hypervisor_hostname' "nova hypervisor-show" nova hypervisor-show "$HYP"
check -m 'nova-compute' -m 'nova-scheduler|nova-conductor' "nova service-list" nova service-list
check -m 'nova-compute' -n 'nova-scheduler' "nova service-list --binary nova-compute" \
  nova service-list --binary nova-compute
check -m 'nova' "nova availability-zone-list" nova availability-zone-list
check -m 'instances' -m 'cores' "nova quota-show" nova quota-show
ADMIN_ID=$(openstack user show admin -f value -c id) PROJECT_ID=$(openstack project show admin -f value -c id)
check -m 'instances' "nova quota-show --user --tenant" nova quota-show --user "$ADMIN_ID" --tenant "$PROJECT_ID"
check -m 'Cores|Instances' "nova limits" nova limits
check -m 'Tenant ID|Project ID' "nova usage-list" nova usage-list

# --- nova: key pairs and a server ----------------------------------------------------
check "nova keypair-add --pub-key" nova keypair-add --pub-key "$WORK/id_ed25519.pub" "$KEY"
check -m "$KEY" "nova keypair-list" nova keypair-list
check -m "Public key: ssh-ed25519" "nova keypair-show" nova keypair-show "$KEY"
NET_ID=$(openstack network show private -f value -c id)
check -m 'Finished' "nova boot --nic net-id= --security-group --key-name --poll" \
  nova boot --flavor m1.nano --image "$IMG" --nic net-id="$NET_ID" --security-group default \
  --key-name "$KEY" --meta role=legacy --poll "$VM"
check -m "$VM .*ACTIVE" "nova list" nova list
VM_ID=$(nova show "$VM" 2>/dev/null | awk -F'|' '$2 ~ /^ id +$/ { gsub(/ /, "", $3); print $3 }')
check -m 'status +\| ACTIVE' -m "key_name +\| $KEY" -m 'private network +\|' "nova show" nova show "$VM"
check -m 'ACTIVE' "nova list --name --fields" nova list --name "$VM" --fields name,status,networks
check -m "$NET_ID" "nova interface-list" nova interface-list "$VM"
check "nova meta set" nova meta "$VM" set stage=test
check -m 'stage' "nova show shows the metadata" nova show "$VM"
check -m 'novnc' "nova get-vnc-console novnc" nova get-vnc-console "$VM" novnc
check "nova console-log" nova console-log "$VM"
check -m 'Servers' -m "$PROJECT_ID|Usage" "nova usage (with a server)" nova usage
check "nova stop" nova stop "$VM"
check -m '^SHUTOFF$' "stopped server is SHUTOFF" wait_nova "$VM" SHUTOFF
check "nova start" nova start "$VM"
check -m '^ACTIVE$' "started server is ACTIVE" wait_nova "$VM" ACTIVE
check "nova reboot --poll" nova reboot --poll "$VM"
check "nova pause" nova pause "$VM"
check -m '^PAUSED$' "paused server is PAUSED" wait_nova "$VM" PAUSED
check "nova unpause" nova unpause "$VM"
check -m '^ACTIVE$' "unpaused server is ACTIVE" wait_nova "$VM" ACTIVE
check "nova suspend" nova suspend "$VM"
check -m '^SUSPENDED$' "suspended server is SUSPENDED" wait_nova "$VM" SUSPENDED
check "nova resume" nova resume "$VM"
check -m '^ACTIVE$' "resumed server is ACTIVE" wait_nova "$VM" ACTIVE
check -m "$VM_ID" "nova hypervisor-servers" nova hypervisor-servers "$(nova show "$VM" 2>/dev/null |
  awk -F'|' '$2 ~ /OS-EXT-SRV-ATTR:hypervisor_hostname/ { gsub(/ /, "", $3); print $3 }')"
HOST=$(host_of "$VM")
check "nova live-migration (to the other host)" nova live-migration "$VM"
check -m '^ACTIVE$' "migrated server is ACTIVE" wait_nova "$VM" ACTIVE
check -m . -n "^$HOST\$" "migrated server is on another host" host_of "$VM"

# --- nova: resize, cold migration and evacuation (seed: nova evacuate) ---------------
check -m 'Finished' "nova resize --poll" nova resize --poll "$VM" m1.micro
check -m '^VERIFY_RESIZE$' "resized server awaits confirmation" wait_nova "$VM" VERIFY_RESIZE
check "nova resize-confirm" nova resize-confirm "$VM"
check -m '^ACTIVE$' "confirmed server is ACTIVE" wait_nova "$VM" ACTIVE
check -m 'flavor:original_name +\| m1\.micro' "server has the new flavor" nova show "$VM"
check -m 'Finished' "nova migrate --poll" nova migrate --poll "$VM"
check -m '^VERIFY_RESIZE$' "migrated server awaits confirmation" wait_nova "$VM" VERIFY_RESIZE
check "nova resize-revert" nova resize-revert "$VM"
check -m '^ACTIVE$' "reverted server is ACTIVE" wait_nova "$VM" ACTIVE
HOST=$(host_of "$VM")
SID=$(nova service-list --binary nova-compute --host "$HOST" 2>/dev/null |
  awk -F'|' 'NR > 3 && NF > 3 { gsub(/ /, "", $2); print $2; exit }')
# Evacuation needs the server's host down; --unset runs on any exit too.
trap '"$VENV/bin/nova" service-force-down --unset "$SID" >/dev/null 2>&1' EXIT
check -m 'True' "nova service-force-down (the server's host)" nova service-force-down "$SID"
check "nova evacuate" nova evacuate "$VM"
check -m '^ACTIVE$' "evacuated server is ACTIVE" wait_nova "$VM" ACTIVE
check -m . -n "^$HOST\$" "evacuated server is on another host" host_of "$VM"
check -m 'False' "nova service-force-down --unset" nova service-force-down --unset "$SID"
trap - EXIT
check -m 'evacuation' -m 'live-migration' -m 'resize' "nova migration-list --instance-uuid" \
  nova migration-list --instance-uuid "$VM_ID"

# --- nova: snapshots, backups, server groups ------------------------------------------
check -m 'Finished' "nova image-create --poll (snapshot)" nova image-create --poll "$VM" "leg-snap-$S"
check -m 'image_type +\| backup' "nova backup" nova backup "$VM" "leg-bak-$S" daily 1
check -m "leg-snap-$S" -m "leg-bak-$S" "glance image-list shows the snapshot and backup" glance image-list
check -m 'anti-affinity' "nova server-group-create" nova server-group-create "leg-sg-$S" anti-affinity
SG_ID=$(awk -F'|' 'NR > 3 && NF > 3 { gsub(/ /, "", $2); print $2; exit }' <<<"$OUT")
check -m "leg-sg-$S" "nova server-group-list" nova server-group-list
check "nova server-group-delete" nova server-group-delete "$SG_ID"

# --- nova: aggregates (seed: aggregate-cache-images) --------------------------------
check -m "$AGG" "nova aggregate-create" nova aggregate-create "$AGG"
check -m "$HOST" "nova aggregate-add-host" nova aggregate-add-host "$AGG" "$HOST"
# novaclient finds images by ID only (its name lookup sends `names=in:`, no Glance filter).
check "nova aggregate-cache-images" nova aggregate-cache-images "$AGG" "$IMG_ID"
check "nova aggregate-remove-host" nova aggregate-remove-host "$AGG" "$HOST"
check "nova aggregate-delete" nova aggregate-delete "$AGG"

# --- cleanup --------------------------------------------------------------------------
check "nova delete" nova delete "$VM"
check "deleted server is gone" wait_gone "$VM"
check "nova keypair-delete" nova keypair-delete "$KEY"
check -x "deleted key pair is gone" nova keypair-show "$KEY"
for name in "leg-snap-$S" "leg-bak-$S"; do
  id=$(glance image-list 2>/dev/null |
    awk -F'|' -v n="$name" '{ gsub(/ /, "", $3) } $3 == n { gsub(/ /, "", $2); print $2 }')
  check "glance image-delete $name" glance image-delete "$id"
done
check "glance image-delete" glance image-delete "$IMG_ID"
check -x "deleted image is gone" glance image-show "$IMG_ID"
rm -rf "$WORK"
finish
