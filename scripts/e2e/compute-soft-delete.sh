#!/usr/bin/env bash
# End-to-end checks of what needs other compute settings than the shared cloud: soft
# delete with restore, force delete and reclaim (reclaim_instance_interval), and resizes
# confirmed by the periodic task (resize_confirm_window). Starts its own cloud, with
# these settings and a one-second periodic task, in DATA_DIR/soft-delete.
#
#   scripts/e2e/compute-soft-delete.sh DATA_DIR
#
# Same conventions as identity.sh. The last line is `e2e: N passed, N failed`.
set -uo pipefail

SHARED=${1:?usage: compute-soft-delete.sh DATA_DIR}
# shellcheck source=../lib/serve.sh
source "$(dirname "$0")/../lib/serve.sh"
mkdir -p "$SHARED/soft-delete"
if ! serve_stratus "$SHARED/soft-delete" "$SHARED/soft-delete-server.log" STRATUS_COMPUTE_FAKE_HOSTS=1 \
  STRATUS_COMPUTE_RECLAIM_INSTANCE_INTERVAL=20 STRATUS_COMPUTE_RESIZE_CONFIRM_WINDOW=2 STRATUS_COMPUTE_REPORT_INTERVAL=1; then
  echo "e2e: 0 passed, 1 failed"; exit 1
fi
trap 'stop_stratus "$STRATUS_PID"' EXIT
DATA=$SHARED/soft-delete
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

allocation() { openstack resource provider allocation show --os-placement-api-version 1.39 "$1" -f value -c resources; }
# Waits up to 30 s for server $1 to be gone, then shows it one last time (which fails then).
wait_gone() {
  local i; for ((i = 0; i < 60; i++)); do openstack server show "$1" -f value -c id >/dev/null 2>&1 || break; sleep 0.5; done
  openstack server show "$1" -f value -c status
}

head -c 65536 /dev/urandom >"$DATA/sd-image.raw"
check -m '^status="active"' "an image to boot" \
  os image create --disk-format raw --container-format bare --file "$DATA/sd-image.raw" sd-img -f shell -c status
for name in sd-a sd-b sd-c; do
  check -m '^status="ACTIVE"' "server create --wait $name" \
    os server create --image sd-img --flavor m1.nano --network private --wait "$name" -f shell -c status
done
A=$(openstack server show sd-a -f value -c id) B=$(openstack server show sd-b -f value -c id) C=$(openstack server show sd-c -f value -c id)

# --- soft delete, restore, force delete, reclaim ------------------------------------
check "server delete (soft)" os server delete "$A"
check -m '^SOFT_DELETED$' "a deleted server is SOFT_DELETED" wait_status "$A" SOFT_DELETED
check -m "'VCPU': 1" "a soft-deleted server keeps its allocation" allocation "$A"
check -m "$A" "server list shows the soft-deleted server" os server list --status SOFT_DELETED -f value -c ID
check "server restore" os server restore "$A"
check -m '^ACTIVE$' "the restored server is ACTIVE" wait_status "$A" ACTIVE
check -m "'VCPU': 1" "the restored server still has its allocation" allocation "$A"
check -x -m '409|Cannot .restore.' "restore of an active server is refused with 409" os server restore "$A"
check "server delete again" os server delete "$A"
check -m '^SOFT_DELETED$' "soft-deleted again" wait_status "$A" SOFT_DELETED
check "server delete --force" os server delete --force --wait "$A"
check -x -m 'No Server found' "the force-deleted server is gone" os server show "$A"
check -n 'VCPU' "no allocation is left by the force-deleted server" allocation "$A"
check "server delete of the second server" os server delete "$B"
check -m '^SOFT_DELETED$' "the second server is SOFT_DELETED" wait_status "$B" SOFT_DELETED
check -x -m 'No Server found' "after reclaim_instance_interval it is reclaimed" wait_gone "$B"
check -n 'VCPU' "no allocation is left by the reclaimed server" allocation "$B"

# --- resize confirmed by the periodic task ----------------------------------------
check "server resize --flavor m1.micro" os server resize --flavor m1.micro "$C"
check -m '^ACTIVE$' "after resize_confirm_window the resize is confirmed without a request" wait_status "$C" ACTIVE
check -m "'name': 'm1.micro'" "the confirmed server has the new flavor" openstack server show "$C" -f value -c flavor
check -m "'MEMORY_MB': 192" "its allocation is the new flavor's" allocation "$C"
check -m '^confirmed$' "its migration is confirmed" bash -c "openstack server migration list --server '$C' -f value -c Status | head -1"
check "server delete --wait of the resized server" os server delete --force --wait "$C"

finish
