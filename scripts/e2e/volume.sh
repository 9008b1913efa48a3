#!/usr/bin/env bash
# End-to-end checks of Stratus's Block Storage (Cinder v3) with python-openstackclient:
# volumes blank, typed, from an image, a snapshot or another volume; set, unset, extend;
# public and private volume types with project access; QoS specs; snapshots; transfers to
# another project; services and pools; attach and detach through Compute and boot from a
# volume. Backups, migration and manage/unmanage are checked in functions of their own
# (backup_checks, migrate_checks, manage_checks, encryption_checks).
#
#   scripts/e2e/volume.sh DATA_DIR
#
# Same conventions as identity.sh. It expects scripts/test.sh's cloud: two file backends,
# `file` and `file2` (volume_backend_name = the section name), volumes kept in
# DATA_DIR/volumes/<backend>/ (their contents are read back with qemu-img), the flavor
# m1.nano and the network `private`. E2E_VOLUME_TIMEOUT (60) is how many seconds a volume
# may take to reach a state. The last line is `e2e: N passed, N failed`.
set -uo pipefail

DATA=${1:?usage: volume.sh DATA_DIR}
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-e2e-volume.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TIMEOUT=${E2E_VOLUME_TIMEOUT:-60}

# vstatus VOLUME: its status (or the CLI's error). wait_volume VOLUME STATUS: polls until
# the volume has STATUS or an error status, for TIMEOUT seconds at most, then prints the
# status it has.
vstatus() { openstack volume show "$1" -f value -c status 2>&1; }
wait_volume() {
  local deadline=$((SECONDS + TIMEOUT)) st
  while true; do
    st=$(vstatus "$1")
    [[ $st == "$2" || $st == error* ]] && break
    (( SECONDS >= deadline )) && break
    sleep 1
  done
  echo "$st"
}
# wait_snapshot SNAPSHOT STATUS, wait_backup BACKUP STATUS: the same for snapshots and backups.
wait_resource() {
  local kind=$1 deadline=$((SECONDS + TIMEOUT)) st
  while true; do
    st=$(openstack volume "$kind" show "$2" -f value -c status 2>&1)
    [[ $st == "$3" || $st == error* ]] && break
    (( SECONDS >= deadline )) && break
    sleep 1
  done
  echo "$st"
}
wait_snapshot() { wait_resource snapshot "$@"; }
wait_backup() { wait_resource backup "$@"; }
# wait_gone KIND ID: waits (TIMEOUT at most) until `openstack KIND show ID` fails, then
# runs it once more (so a check with -x passes when the resource is gone).
wait_gone() {
  local kind=$1 id=$2 deadline=$((SECONDS + TIMEOUT))
  while openstack $kind show "$id" -f value -c id >/dev/null 2>&1 && (( SECONDS < deadline )); do sleep 1; done
  openstack $kind show "$id" -f value -c id -c status
}
# vfield VOLUME FIELD: one field of `volume show` (-f value).
vfield() { openstack volume show "$1" -f value -c "$2"; }
# volume_md5 VOLUME: md5 of the first MiB of the volume's data, read from its file in the
# backend directory with qemu-img (whatever the file's format).
volume_md5() {
  local file
  file=$(ls "$DATA"/volumes/*/"volume-$1" 2>/dev/null | head -1)
  [[ -n $file ]] || { echo "no file volume-$1 under $DATA/volumes"; return 1; }
  rm -f "$WORK/vol.raw"
  qemu-img convert -O raw "$file" "$WORK/vol.raw" || return 1
  head -c 1048576 "$WORK/vol.raw" | md5sum | cut -d' ' -f1
  rm -f "$WORK/vol.raw"
}

check -m '^http' "volumev3 endpoint in the catalog" os endpoint list --service volumev3 --interface public -f value -c URL
check -m '^auth\.auth_url=' "auth url" os configuration show -f shell
AUTH_URL=$(val auth\\.auth_url)
PROJECT_ID=$(openstack token issue -f value -c project_id)
BEFORE=$(openstack volume list -f value -c ID | sort)

# --- services and pools ---------------------------------------------------------
check -m '^cinder-scheduler .* up$' -m '^cinder-volume [^ ]+@file .* up$' -m '^cinder-volume [^ ]+@file2 .* up$' -n ' down$' \
  "volume service list: scheduler and both volume services up" \
  os volume service list -f value -c Binary -c Host -c Status -c State
check -m "@file#file .*'volume_backend_name': 'file'" -m "@file2#file2 .*'volume_backend_name': 'file2'" \
  -m "'thin_provisioning_support': True" -m "'total_capacity_gb': [0-9.]+" \
  "volume backend pool list --long" os volume backend pool list --long -f value
HOST=$(openstack volume backend pool list -f value -c Name | sed -n 's/@file#file$//p' | head -1)

# --- blank volumes, show, list --------------------------------------------------
check -m '^size="1"' -m '^status="(creating|available)"' -m "^properties=\"\{'e2e': '$S'\}\"" \
  "volume create --size 1 --property" os volume create --size 1 --property "e2e=$S" "vol-blank-$S" -f shell
BLANK=$(val id)
check -m '^available$' "the blank volume becomes available" wait_volume "$BLANK" available
check -m '^status="available"' -m '^size="1"' -m '^bootable="False"' -m '^type="__DEFAULT__"' \
  -m "^os_vol_host_attr_host=\"$HOST@file2?#file2?\"" -m "^os_vol_tenant_attr_tenant_id=\"$PROJECT_ID\"" \
  -m "^name=\"vol-blank-$S\"" -m '^attachments="\[\]"' "volume show" os volume show "$BLANK" -f shell
check -m "^$BLANK vol-blank-$S available 1 __DEFAULT__ False \\[\\] \\{'e2e': '$S'\\}$" "volume list --long" \
  os volume list --long -f value -c ID -c Name -c Status -c Size -c Type -c Bootable -c 'Attached to' -c Properties
check -m "vol-blank-$S" "volume list --name --status" os volume list --name "vol-blank-$S" --status available -f value -c Name
check -x -m 'size|Size|400|Invalid' "volume create --size 0 is refused" os volume create --size 0 "vol-zero-$S"
check -n "vol-zero-$S" "no volume is left by the refused create" os volume list -f value -c Name

# --- a public type on backend `file` ------------------------------------------------
check -m "^properties=\"\{'volume_backend_name': 'file'\}\"" -m '^is_public="True"' "volume type create --public --property volume_backend_name=file" \
  os volume type create --public --property volume_backend_name=file "vtype-file-$S" -f shell
check -m "^type=\"vtype-file-$S\"" "volume create --type" os volume create --size 1 --type "vtype-file-$S" "vol-typed-$S" -f shell
TYPED=$(val id)
check -m '^available$' "the typed volume becomes available" wait_volume "$TYPED" available
check -m "@file#file$" "the typed volume is on backend file" vfield "$TYPED" os-vol-host-attr:host

# --- from an image, a snapshot, another volume; bootable ----------------------------
head -c 1M /dev/urandom >"$WORK/image.raw"
IMAGE_MD5=$(md5sum "$WORK/image.raw" | cut -d' ' -f1)
check -m '^status="active"' "an image for volumes (1 MiB raw)" \
  os image create --disk-format raw --container-format bare --file "$WORK/image.raw" "vol-img-$S" -f shell
IMAGE=$(val id)
check -m '^size="1"' "volume create --image" os volume create --size 1 --image "$IMAGE" "vol-image-$S" -f shell
FROM_IMAGE=$(val id)
check -m '^available$' "the image volume becomes available" wait_volume "$FROM_IMAGE" available
check -m '"bootable": true' -m "\"image_id\": \"$IMAGE\"" -m "\"checksum\": \"$IMAGE_MD5\"" \
  "the image volume is bootable and has the image metadata" os volume show "$FROM_IMAGE" -f json
check -m "^$IMAGE_MD5$" "the image volume holds the image's bytes" volume_md5 "$FROM_IMAGE"

check -m "^volume_id=\"$FROM_IMAGE\"" -m '^size="1"' "volume snapshot create" \
  os volume snapshot create --volume "$FROM_IMAGE" --property "e2e=$S" "snap-$S" -f shell
SNAP=$(val id)
check -m '^available$' "the snapshot becomes available" wait_snapshot "$SNAP" available
check -m "^$SNAP snap-$S available 1 $FROM_IMAGE$" "volume snapshot list --long" \
  os volume snapshot list --long -f value -c ID -c Name -c Status -c Size -c Volume
check -m '^status="available"' -m "^volume_id=\"$FROM_IMAGE\"" -m "^properties=\"\{'e2e': '$S'\}\"" \
  "volume snapshot show" os volume snapshot show "$SNAP" -f shell
check -x -m 'snapshots|Invalid|400' "volume delete of a volume with snapshots is refused" os volume delete "$FROM_IMAGE"

check -m "^snapshot_id=\"$SNAP\"" -m '^size="1"' "volume create --snapshot" os volume create --snapshot "$SNAP" "vol-fromsnap-$S" -f shell
FROM_SNAP=$(val id)
check -m '^available$' "the volume from the snapshot becomes available" wait_volume "$FROM_SNAP" available
check -m "^$IMAGE_MD5$" "the volume from the snapshot holds the image's bytes" volume_md5 "$FROM_SNAP"

check -m "^source_volid=\"$FROM_IMAGE\"" "volume create --source" os volume create --source "$FROM_IMAGE" "vol-clone-$S" -f shell
CLONE=$(val id)
check -m '^available$' "the clone becomes available" wait_volume "$CLONE" available
check -m "^$IMAGE_MD5$" "the clone holds the image's bytes" volume_md5 "$CLONE"
check -m '^True$' "the clone is bootable like its source" vfield "$CLONE" bootable

check "volume create --size 1 --bootable" os volume create --size 1 --bootable "vol-boot-$S" -f shell
BOOT=$(val id)
check -m '^available$' "the bootable volume becomes available" wait_volume "$BOOT" available
check -m '^True$' "the volume is bootable" vfield "$BOOT" bootable
check "volume set --non-bootable" os volume set --non-bootable "$BOOT"
check -m '^False$' "the volume is not bootable any more" vfield "$BOOT" bootable

check "volume delete (clone, volume from snapshot, bootable, typed)" os volume delete "$CLONE" "$FROM_SNAP" "$BOOT" "$TYPED"
for id in "$CLONE" "$FROM_SNAP" "$BOOT" "$TYPED"; do
  check -x -m "No Volume found for $id" "deleted volume $id is gone" wait_gone volume "$id"
  check -n "volume-$id" "its file is gone" ls "$DATA"/volumes/file "$DATA"/volumes/file2
done

# --- set, unset, extend ----------------------------------------------------------
check "volume set --name --property --description" \
  os volume set --name "vol-renamed-$S" --property tier=gold --description "e2e $S" "$BLANK"
check -m "^name=\"vol-renamed-$S\"" -m "^properties=\"\{'e2e': '$S', 'tier': 'gold'\}\"" -m "^description=\"e2e $S\"" \
  "volume show after set" os volume show "$BLANK" -f shell -c name -c properties -c description
check "volume unset --property" os volume unset --property e2e "$BLANK"
check -m "^properties=\"\{'tier': 'gold'\}\"" "the property is gone" os volume show "$BLANK" -f shell -c properties
check "volume set --size 2 (extend)" os volume set --size 2 "$BLANK"
check -m '^available$' "the extended volume is available again" wait_volume "$BLANK" available
check -m '^2$' "the volume's size is 2" vfield "$BLANK" size
check -m 'virtual size: 2 GiB' "its file is 2 GiB" bash -c "qemu-img info '$(ls "$DATA"/volumes/*/"volume-$BLANK" 2>/dev/null | head -1)'"
check -x -m 'size|Size|400|Invalid' "volume set --size 1 (shrink) is refused" os volume set --size 1 "$BLANK"

# --- another project with a member ------------------------------------------------
check "project for transfers and type access" os project create --domain Default "vol-other-$S"
OTHER=$(openstack project show "vol-other-$S" -f value -c id)
check "member user" os user create --domain Default --password "pw-$S" --project "vol-other-$S" "vol-member-$S"
check "member role" os role add --user "vol-member-$S" --project "vol-other-$S" member
member() {
  envauth OS_USERNAME="vol-member-$S" OS_PASSWORD="pw-$S" OS_PROJECT_NAME="vol-other-$S" \
    OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default openstack "$@"
}
check -n "vol-" "the member's project has no volumes" member volume list -f value -c Name

# --- a private type on backend `file2`, project access ------------------------------
check -m '^is_public="False"' -m "^properties=\"\{'volume_backend_name': 'file2'\}\"" \
  "volume type create --private --property volume_backend_name=file2" \
  os volume type create --private --property volume_backend_name=file2 "vtype-file2-$S" -f shell
PTYPE=$(val id)
check -n "vtype-file2-$S" "the member does not see the private type" member volume type list -f value -c Name
check "volume type set --project (admin's project)" os volume type set --project "$PROJECT_ID" "$PTYPE"
check "volume type set --project (the other project)" os volume type set --project "$OTHER" "$PTYPE"
check -m "$PROJECT_ID" -m "$OTHER" "volume type show: access_project_ids" os volume type show "$PTYPE" -f value -c access_project_ids
check -m "vtype-file2-$S" "the member sees the private type now" member volume type list -f value -c Name
check -m "^vtype-file2-$S False \\{'volume_backend_name': 'file2'\\}$" "volume type list --long" \
  os volume type list --long -f value -c Name -c 'Is Public' -c Properties
check -m "^type=\"vtype-file2-$S\"" "volume create --type (private, file2)" os volume create --size 1 --type "$PTYPE" "vol-file2-$S" -f shell
ON_FILE2=$(val id)
check -m '^available$' "the file2 volume becomes available" wait_volume "$ON_FILE2" available
check -m "@file2#file2$" "os-vol-host-attr:host ends with @file2#file2" vfield "$ON_FILE2" os-vol-host-attr:host
check -m "^volume-$ON_FILE2$" "its file is in the file2 backend directory" ls "$DATA/volumes/file2"
check "volume type unset --project (the other project)" os volume type unset --project "$OTHER" "$PTYPE"
check -n "vtype-file2-$S" "the member no longer sees the private type" member volume type list -f value -c Name
check -x "the type of a volume cannot be deleted" os volume type delete "$PTYPE"

# --- QoS specs ---------------------------------------------------------------------
check -m '^consumer="front-end"' -m "^properties=\"\{'total_iops_sec': '500'\}\"" \
  "volume qos create --consumer front-end --property total_iops_sec=500" \
  os volume qos create --consumer front-end --property total_iops_sec=500 "qos-$S" -f shell
QOS=$(val id)
check "volume qos associate" os volume qos associate "$QOS" "$PTYPE"
check -m "^associations=\"\['vtype-file2-$S'\]\"" -m '^consumer="front-end"' -m "'total_iops_sec': '500'" \
  "volume qos show: associations" os volume qos show "$QOS" -f shell
check -m "^qos-$S front-end \\['vtype-file2-$S'\\] \\{'total_iops_sec': '500'\\}$" "volume qos list" \
  os volume qos list -f value -c Name -c Consumer -c Associations -c Properties
check -x "a QoS spec in use cannot be deleted" os volume qos delete "$QOS"
check "volume qos set --property" os volume qos set --property read_iops_sec=100 "$QOS"
check -m "'read_iops_sec': '100'" "the property is set" os volume qos show "$QOS" -f value -c properties
check "volume qos disassociate" os volume qos disassociate --volume-type "$PTYPE" "$QOS"
check -m '^consumer="front-end"' -n "^associations=.*vtype-file2-$S" "no associations left" os volume qos show "$QOS" -f shell
check "volume qos delete" os volume qos delete "$QOS"
check -x "the QoS spec is gone" os volume qos show "$QOS"

# --- transfer to the other project --------------------------------------------------
check "a volume to transfer" os volume create --size 1 --property "e2e=$S" "vol-xfer-$S" -f shell
XFER=$(val id)
check -m '^available$' "the volume to transfer becomes available" wait_volume "$XFER" available
check -m '^auth_key="[0-9a-f]+"' -m "^volume_id=\"$XFER\"" "volume transfer request create" \
  os volume transfer request create --name "xfer-$S" "$XFER" -f shell
TRANSFER=$(val id) AUTH_KEY=$(val auth_key)
check -m '^awaiting-transfer$' "the volume awaits the transfer" vstatus "$XFER"
check -m "^$TRANSFER xfer-$S $XFER$" "volume transfer request list" os volume transfer request list -f value -c ID -c Name -c Volume
check -x "the member cannot accept with a wrong key" member volume transfer request accept --auth-key 0000000000000000 "$TRANSFER"
check -m "^volume_id=\"$XFER\"" "the member accepts: volume transfer request accept --auth-key" \
  member volume transfer request accept --auth-key "$AUTH_KEY" "$TRANSFER" -f shell
check -m "^$OTHER$" "the volume's project is the other project" vfield "$XFER" os-vol-tenant-attr:tenant_id
check -m '^available$' "the transferred volume is available" vstatus "$XFER"
check -m "^$XFER vol-xfer-$S available$" "the member lists it" member volume list -f value -c ID -c Name -c Status
check -n "$XFER" "the admin project no longer lists it" os volume list -f value -c ID
check -n "$TRANSFER" "the transfer is gone" os volume transfer request list -f value -c ID
check "the member deletes it" member volume delete "$XFER"
check -x -m "No Volume found for $XFER" "the transferred volume is gone" wait_gone volume "$XFER"

# --- attach to a server, detach ---------------------------------------------------
check -m '^status="ACTIVE"' "server create --wait" \
  os server create --flavor m1.nano --image "$IMAGE" --network private --wait "vol-vm-$S" -f shell -c status
VM=$(openstack server show "vol-vm-$S" -f value -c id)
check -m "^volume_id=\"$BLANK\"" -m "^server_id=\"$VM\"" "server add volume" os server add volume "$VM" "$BLANK" -f shell
check -m '^in-use$' "the volume goes in-use" wait_volume "$BLANK" in-use
check -m "\"server_id\": \"$VM\"" -m '"device": "/dev/' "volume show: the attachment" os volume show "$BLANK" -f json -c attachments
check -m "^/dev/vd[b-z] $VM $BLANK$" "server volume list" os server volume list "$VM" -f value -c Device -c 'Server ID' -c 'Volume ID'
check -m "'id': '$BLANK'" "server show: volumes_attached" os server show "$VM" -f value -c volumes_attached
check "server volume set --delete-on-termination (2.85)" \
  os --os-compute-api-version 2.85 server volume set --delete-on-termination "$VM" "$BLANK"
check -m "^$BLANK True$" "server volume list: deleted with the server" \
  os --os-compute-api-version 2.85 server volume list "$VM" -f value -c 'Volume ID' -c 'Delete On Termination?'
check "server volume set --preserve-on-termination (2.85)" \
  os --os-compute-api-version 2.85 server volume set --preserve-on-termination "$VM" "$BLANK"
check -m "^$BLANK False$" "server volume list: kept after the server" \
  os --os-compute-api-version 2.85 server volume list "$VM" -f value -c 'Volume ID' -c 'Delete On Termination?'
check -m "^$BLANK .*'server_id': '$VM'" "volume list --long: Attached to" os volume list --long -f value -c ID -c 'Attached to'
check -x -m 'in-use|attached|Invalid|400' "volume delete of an in-use volume is refused" os volume delete "$BLANK"
check -m '^in-use$' "the in-use volume is still there" vstatus "$BLANK"

# Migrating the attached volume: Nova's host mirrors the server's disk onto a blank target on
# the other backend and swaps it in; the volume keeps its id, its server and its attachment.
# same_name_count VOLUME: how many volumes of all projects have VOLUME's name.
same_name_count() {
  local name
  name=$(vfield "$1" name)
  openstack volume list --all-projects -f value -c Name | grep -cxF -- "$name"
}
attached_migrate_checks() {
  local from to failed=$FAILED deadline
  from=$(vfield "$BLANK" os-vol-host-attr:host)
  if [[ $from == *@file#file ]]; then to=$HOST@file2#file2; else to=$HOST@file#file; fi
  check "volume migrate --host $to of the attached volume" os volume migrate --host "$to" "$BLANK"
  (( FAILED == failed )) || return
  deadline=$((SECONDS + TIMEOUT))
  while [[ $(vfield "$BLANK" os-vol-mig-status-attr:migstat) == migrating ]] && (( SECONDS < deadline )); do
    sleep 1
  done
  check -m '^success$' "the attached volume's migration succeeds" vfield "$BLANK" os-vol-mig-status-attr:migstat
  check -m "^$to$" "the attached volume is on $to" vfield "$BLANK" os-vol-host-attr:host
  check -m '^in-use$' "it stays in-use" vstatus "$BLANK"
  check -m "^/dev/vd[b-z] $VM $BLANK$" "the server still has it" \
    os server volume list "$VM" -f value -c Device -c 'Server ID' -c 'Volume ID'
  check -m '^swap_volume$' "the server's actions show the swap" os server event list "$VM" -f value -c Action
  check -m '^1$' "no migration target (of the same name) is left" same_name_count "$BLANK"
}
attached_migrate_checks
check "server remove volume" os server remove volume "$VM" "$BLANK"
check -m '^available$' "the volume is available again" wait_volume "$BLANK" available
check -m '^\[\]$' "no attachments left" vfield "$BLANK" attachments
check -n "$BLANK" "server volume list is empty" os server volume list "$VM" -f value -c 'Volume ID'
check "server delete --wait" os server delete --wait "$VM"

# --- boot from a volume ------------------------------------------------------------
check -m '^status="ACTIVE"' "server create --boot-from-volume 1 --image --wait" \
  os server create --boot-from-volume 1 --image "$IMAGE" --flavor m1.nano --network private --wait "vol-bfv-$S" -f shell -c status
BFV_VM=$(openstack server show "vol-bfv-$S" -f value -c id)
BFV_VOL=$(openstack server show "$BFV_VM" -f json -c volumes_attached | python3 -c 'import json,sys; v=json.load(sys.stdin)["volumes_attached"]; print(v[0]["id"] if v else "")')
check -m '^[0-9a-f-]{36}$' "server show: volumes_attached has the boot volume" echo "${BFV_VOL:-none}"
check -m '^status="in-use"' -m '^size="1"' -m '^bootable="True"' "the boot volume is in-use, 1 GiB, bootable" \
  os volume show "${BFV_VOL:-none}" -f shell -c status -c size -c bootable
check -m "\"server_id\": \"$BFV_VM\"" -m '"device": "/dev/vda"' "the boot volume is attached as /dev/vda" \
  os volume show "${BFV_VOL:-none}" -f json -c attachments
check -m "^$IMAGE_MD5$" "the boot volume holds the image's bytes" volume_md5 "${BFV_VOL:-none}"
check "server delete --wait (boot from volume)" os server delete --wait "$BFV_VM"
check -m '^available$' "the boot volume (delete_on_termination false) is available after the server" \
  wait_volume "${BFV_VOL:-none}" available

# --- backups ---------------------------------------------------------------------------
# Backups of the image volume, restored into a new volume whose bytes are compared.
backup_checks() {
  local backup restored failed=$FAILED
  check -m '^id="' "volume backup create" os volume backup create --name "backup-$S" "$FROM_IMAGE" -f shell
  (( FAILED == failed )) || return
  backup=$(val id)
  check -m '^available$' "the backup becomes available" wait_backup "$backup" available
  check -m "^volume_id=\"$FROM_IMAGE\"" -m '^size="1"' -m '^status="available"' "volume backup show" \
    os volume backup show "$backup" -f shell
  check -m "^$backup backup-$S available 1" "volume backup list" os volume backup list -f value -c ID -c Name -c Status -c Size
  check -m '^volume_id="' "volume backup restore (into a new volume)" os volume backup restore "$backup" "vol-restored-$S" -f shell
  restored=$(openstack volume show "vol-restored-$S" -f value -c id 2>/dev/null)
  check -m '^available$' "the restored volume becomes available" wait_volume "${restored:-vol-restored-$S}" available
  check -m "^$IMAGE_MD5$" "the restored volume holds the image's bytes" volume_md5 "${restored:-none}"
  check "volume backup delete" os volume backup delete "$backup"
  check -x -m "No Backup found for $backup" "the backup is gone" wait_gone "volume backup" "$backup"
  check "delete the restored volume" os volume delete "${restored:-vol-restored-$S}"
  check -x "the restored volume is gone" wait_gone volume "${restored:-vol-restored-$S}"
}
backup_checks

# --- migration -------------------------------------------------------------------------
# Moves the (detached) blank volume to the other backend's pool.
migrate_checks() {
  local from to failed=$FAILED
  from=$(vfield "$BLANK" os-vol-host-attr:host)
  if [[ $from == *@file#file ]]; then to=$HOST@file2#file2; else to=$HOST@file#file; fi
  check "volume migrate --host $to" os volume migrate --host "$to" "$BLANK"
  (( FAILED == failed )) || return
  local deadline=$((SECONDS + TIMEOUT))
  while [[ $(vfield "$BLANK" os-vol-host-attr:host) != "$to" ]] && (( SECONDS < deadline )); do sleep 1; done
  check -m "^$to$" "the migrated volume is on $to" vfield "$BLANK" os-vol-host-attr:host
  check -m '^available$' "the migrated volume is available" wait_volume "$BLANK" available
  check -m '^success$' "its migration status is success" vfield "$BLANK" os-vol-mig-status-attr:migstat
  check -m '^2$' "the migrated volume kept its size" vfield "$BLANK" size
  check -m "^volume-$BLANK$" "its file is in the new backend's directory" ls "$DATA/volumes/${to##*#}"
}
migrate_checks

# --- manage and unmanage ----------------------------------------------------------------
# A volume and its snapshot are unmanaged (their files stay) and managed again by name; a
# name that leaves the backend's directory ends in error and opens nothing.
manage_checks() {
  local failed=$FAILED vol snap host adopted adopted_snap
  check -m '^id=' "a volume to unmanage" os volume create --size 1 "unmanaged-$S" -f shell -c id
  vol=$(val id)
  check -m '^available$' "it is available" wait_volume "$vol" available
  check -m '^id=' "a snapshot of it" os volume snapshot create --volume "$vol" "unmanaged-snap-$S" -f shell -c id
  snap=$(val id)
  check -m '^available$' "the snapshot is available" wait_snapshot "$snap" available
  (( FAILED == failed )) || return
  host=$(vfield "$vol" os-vol-host-attr:host)
  check "volume snapshot delete --remote (unmanage)" os volume snapshot delete --remote "$snap"
  check -x -m "No Snapshot found for $snap" "the unmanaged snapshot is gone" wait_gone "volume snapshot" "$snap"
  check "volume delete --remote (unmanage)" os volume delete --remote "$vol"
  check -x -m "No Volume found for $vol" "the unmanaged volume is gone" wait_gone volume "$vol"
  check -m "^snapshot-$snap$" -m "^volume-$vol$" "their files stay on the backend" ls "$DATA/volumes/${host##*#}"
  check -m "'volume-$vol'\} 1 True$" "block storage volume manageable list shows the file as safe to manage" \
    os block storage volume manageable list --os-volume-api-version 3.8 "$host" -f value \
    -c reference -c size -c safe_to_manage --fit-width
  check -m '^id=' "volume create --remote-source source-name=volume-<id> --host (manage)" \
    os volume create --remote-source "source-name=volume-$vol" --host "$host" "adopted-$S" -f shell -c id
  adopted=$(val id)
  check -m '^available$' "the managed volume is available" wait_volume "$adopted" available
  check -m '^1$' "it has the file's size" vfield "$adopted" size
  check -m '^id=' "volume snapshot create --remote-source (manage)" \
    os volume snapshot create --volume "$adopted" --remote-source "source-name=snapshot-$snap" "adopted-snap-$S" \
    -f shell -c id
  adopted_snap=$(val id)
  check -m '^available$' "the managed snapshot is available" wait_snapshot "$adopted_snap" available
  check -m '^id=' "managing ../ names nothing outside the backend" \
    os volume create --remote-source "source-name=../../volumes/file/volume-$vol" --host "$host" "escape-$S" \
    -f shell -c id
  local escape; escape=$(val id)
  check -m '^error$' "that volume ends in error" wait_volume "$escape" error
  check -x -m 'already managed|error' "the managed file cannot be managed twice" bash -c "
    id=\$(openstack volume create --remote-source source-name=volume-$vol --host '$host' twice-$S -f value -c id) &&
    for i in \$(seq $TIMEOUT); do st=\$(openstack volume show \$id -f value -c status);
      [[ \$st == creating ]] || break; sleep 1; done; echo \$st; [[ \$st == available ]]"
  check "volume snapshot delete (managed)" os volume snapshot delete "$adopted_snap"
  check -x "the managed snapshot is gone" wait_gone "volume snapshot" "$adopted_snap"
  check "volume delete (managed and failed)" os volume delete "$adopted" "$escape" "twice-$S"
  check -x "the managed volume is gone" wait_gone volume "$adopted"
  check -n "^volume-$vol$|^snapshot-$snap$" "deleting the managed volume and snapshot removed their files" \
    ls "$DATA/volumes/${host##*#}"
}
manage_checks

# --- encryption (LUKS with the fixed key) ----------------------------------------------------
encryption_checks() {
  local failed=$FAILED type vol snap copy backend ebackup erestored
  check -m '^id=' "volume type create --encryption-provider luks" \
    os volume type create --encryption-provider luks --encryption-cipher aes-xts-plain64 --encryption-key-size 256 \
    --encryption-control-location front-end "vtype-luks-$S" -f shell -c id
  type=$(val id)
  check -m "'provider': 'luks'" "volume type show --encryption-type" \
    os volume type show --encryption-type "$type" -f value -c encryption
  check -m '^id=' "volume create --type (encrypted)" os volume create --size 1 --type "$type" "enc-$S" -f shell -c id
  vol=$(val id)
  check -m '^available$' "the encrypted volume is available" wait_volume "$vol" available
  (( FAILED == failed )) || return
  check -m '^True$' "volume show: encrypted" vfield "$vol" encrypted
  backend=$(vfield "$vol" os-vol-host-attr:host)
  check -m '"format": "luks"' "its file is qcow2 with LUKS inside" \
    qemu-img info -U --output=json "$DATA/volumes/${backend##*#}/volume-$vol"
  check -m '^id=' "volume snapshot create (encrypted)" \
    os volume snapshot create --volume "$vol" "enc-snap-$S" -f shell -c id
  snap=$(val id)
  check -m '^available$' "the snapshot is available" wait_snapshot "$snap" available
  check -m '^id=' "volume create --snapshot (encrypted)" \
    os volume create --snapshot "$snap" --type "$type" "enc-copy-$S" -f shell -c id
  copy=$(val id)
  check -m '^available$' "the copy is available" wait_volume "$copy" available
  check -m '^True$' "the copy is encrypted" vfield "$copy" encrypted
  check -x -m 'encrypted' "volume create --source into an unencrypted type is refused" \
    os volume create --source "$vol" --type __DEFAULT__ "enc-plain-$S"
  check -m '^id=' "volume backup create (encrypted: the backup holds LUKS data)" \
    os volume backup create "$vol" --name "enc-backup-$S" -f shell -c id
  ebackup=$(val id)
  check -m '^available$' "the encrypted backup is available" wait_backup "$ebackup" available
  check -m '^volume_id="' "volume backup restore (encrypted, into a new volume)" \
    os volume backup restore "$ebackup" "enc-restored-$S" -f shell
  erestored=$(val volume_id)
  check -m '^available$' "the restored volume is available" wait_volume "${erestored:-none}" available
  check -m '^True$' "and encrypted" vfield "${erestored:-none}" encrypted
  check -m "^vtype-luks-$S\$" "of the backed-up volume's type" vfield "${erestored:-none}" type
  check -x -m 'in use' "volume type set --encryption-key-size while volumes use the type is refused" \
    os volume type set --encryption-key-size 512 "$type"
  check "volume snapshot delete (encrypted)" os volume snapshot delete "$snap"
  check -x "the snapshot is gone" wait_gone "volume snapshot" "$snap"
  check "volume backup delete (encrypted)" os volume backup delete "$ebackup"
  check -x -m "No Backup found" "the encrypted backup is gone" wait_gone "volume backup" "$ebackup"
  check "volume delete (encrypted)" os volume delete "$vol" "$copy" "${erestored:-none}"
  check -x "the encrypted volume is gone" wait_gone volume "$vol"
  check -x "its copy is gone" wait_gone volume "$copy"
  check -x "the restored volume is gone" wait_gone volume "${erestored:-none}"
  check "volume type delete (encrypted)" os volume type delete "$type"
}
encryption_checks

# --- consistency groups ------------------------------------------------------------------
check -m '^name=' "consistency group create" os consistency group create --volume-type __DEFAULT__ "cg-$S" -f shell -c name
check -m "^available cg-$S$" "consistency group list" os consistency group list -f value -c Name -c Status
check -m '^status="available"' "consistency group show" os consistency group show "cg-$S" -f shell
check "consistency group delete" os consistency group delete "cg-$S"
check -n "cg-$S" "the consistency group is gone" os consistency group list -f value -c Name

# --- clean up ----------------------------------------------------------------------------
check "volume snapshot delete" os volume snapshot delete "$SNAP"
check -x -m "No Snapshot found for $SNAP" "the snapshot is gone" wait_gone "volume snapshot" "$SNAP"
check -n "$SNAP" "volume snapshot list no longer has it" os volume snapshot list -f value -c ID
check "volume delete (the rest)" os volume delete "$BLANK" "$FROM_IMAGE" "$ON_FILE2" "${BFV_VOL:-none}"
for id in "$BLANK" "$FROM_IMAGE" "$ON_FILE2" "${BFV_VOL:-none}"; do
  check -x -m "No Volume found for $id" "deleted volume $id is gone" wait_gone volume "$id"
done
check "volume type delete" os volume type delete "$PTYPE" "vtype-file-$S"
check -n "vtype-.*-$S" "the types are gone" os volume type list -f value -c Name
check "image delete" os image delete "$IMAGE"
check "member user delete" os user delete "vol-member-$S"
check "project delete" os project delete "vol-other-$S"
# volumes of the project that were not there before the scenario ("none" if none)
leftover() { comm -13 <(echo "$BEFORE") <(openstack volume list -f value -c ID | sort) | grep . || echo none; }
check -m '^none$' "volume list is empty for the project (but for the $(grep -c . <<<"$BEFORE") volumes there before)" leftover
finish
