# shellcheck shell=bash disable=SC2153 # FAILED, OUT, S ... come from e2e.sh and scripts/lib/e2e.sh
# Volume checks of the guest scenario, sourced by scripts/guest/e2e.sh (its check, val,
# guest_ssh_to, wait_ssh_to, KEY, IMAGE, KERNEL, RAMDISK, GUEST, FIP and S) and counted in its
# result line:
#  - a 1 GiB volume attached to the first server, 4 MiB of random data written to it,
#    extended to 2 GiB while attached (the guest sees the new size), migrated to the other
#    backend while attached and written to (QEMU's mirror, Nova's swap), detached and attached
#    to a second server, which reads the same 4 MiB;
#  - a volume of a type with front-end QoS (1 MiB/s) reads no faster than that in the guest;
#  - a volume of a LUKS-encrypted type: a line the guest writes is not in the file on the host,
#    and reads back after a detach and a second attach;
#  - a volume from a snapshot and one restored from a backup hold the same 4 MiB;
#  - a server booted from a volume answers SSH after a hard reboot and after stop/start;
#  - everything made here is deleted.
# The guest finds a volume's disk by its serial (the volume id's first 20 characters, as
# Nova's libvirt driver sets it): the config drive is a virtio disk too, so names shift.

VOLUME_TIMEOUT=${E2E_VOLUME_TIMEOUT:-120}
# the microversion that extends in-use volumes
VOLUME_API=(--os-volume-api-version 3.42)

# wait_resource KIND ID STATUS: polls `openstack KIND show` (VOLUME_TIMEOUT at most) until ID
# has STATUS or an error status (or is not found), then prints the status it has.
wait_resource() {
  local kind=$1 id=$2 want=$3 deadline=$((SECONDS + VOLUME_TIMEOUT)) st
  while true; do
    # shellcheck disable=SC2086 # KIND is one or two words
    st=$(openstack $kind show "$id" -f value -c status 2>&1)
    [[ $st == "$want" || $st == error* || $st == "No "*" found for "* ]] && break
    (( SECONDS >= deadline )) && break
    sleep 2
  done
  echo "$st"
}
wait_volume() { wait_resource volume "$@"; }

# guest_disk IP VOLUME: the name (vdX) of the volume's disk in the guest at IP, waiting 60 s
# at most for it to appear.
guest_disk() {
  guest_ssh_to "$1" "for i in \$(seq 30); do
    for d in /sys/block/vd*; do
      [ \"\$(cat \$d/serial 2>/dev/null)\" = '${2:0:20}' ] && { echo \${d##*/}; exit 0; }
    done
    sleep 2; done; echo 'no disk with serial ${2:0:20}:'; cat /proc/partitions; exit 1"
}
# disk_md5 IP VOLUME: the md5 of the first 4 MiB of the volume's disk in the guest at IP.
disk_md5() {
  local disk; disk=$(guest_disk "$1" "$2") || { echo "$disk"; return 1; }
  root_ssh_to "$1" "dd if=/dev/$disk bs=1048576 count=4 2>/dev/null | md5sum" | cut -d' ' -f1
}
# disk_bytes IP VOLUME BYTES: waits (60 s at most) until the guest at IP sees the volume's disk
# with BYTES bytes, then prints the size it sees.
disk_bytes() {
  local disk; disk=$(guest_disk "$1" "$2") || { echo "$disk"; return 1; }
  guest_ssh_to "$1" "bytes() { echo \$((\$(cat /sys/block/$disk/size) * 512)); }
    for i in \$(seq 30); do [ \$(bytes) = $3 ] && break; sleep 2; done; bytes"
}
# attach SERVER VOLUME: `server add volume`, then the status the volume reaches.
attach() { openstack server add volume "$1" "$2" >/dev/null && wait_volume "$2" in-use; }
# root_ssh_to IP CMD...: CMD as root (the guest's disks are root's).
root_ssh_to() { GUEST_USER=root guest_ssh_to "$@"; }
detach() { openstack server remove volume "$1" "$2" && wait_volume "$2" available; }
# act_on SERVER ACTION STATUS: `openstack server ACTION`, then the status it reaches.
act_on() { openstack server "$2" "$1" && wait_status "$1" "$3"; }
# new_server NAME [ARG...]: a server on private with the key and the SSH group (5 min at most).
new_server() {
  local name=$1; shift
  timeout 300 openstack server create --flavor m1.nano --network private --key-name "guest-key-$S" \
    --security-group "guest-ssh-$S" --wait "$@" "$name" -f shell -c status
}
# delete_volumes ID...: deletes the volumes and waits (VOLUME_TIMEOUT at most) until they are gone.
delete_volumes() {
  openstack volume delete "$@" || return 1
  local id deadline=$((SECONDS + VOLUME_TIMEOUT))
  for id in "$@"; do
    while openstack volume show "$id" -f value -c id >/dev/null 2>&1; do
      (( SECONDS < deadline )) || return 1; sleep 2
    done
  done
}

# copy_checks WHAT ID: the copy ID (a volume from a snapshot or a backup) becomes available,
# attaches to the second server and holds the shared volume's 4 MiB.
copy_checks() {
  GV_COPIES+=("$2")
  check -m '^available$' "$1 becomes available" wait_volume "$2" available
  check -m '^in-use$' "$1 attaches to the second server" attach "$GV_SECOND" "$2"
  check -m "^$GV_SUM\$" "$1 holds the same 4 MiB" disk_md5 "$GV_FIP2" "$2"
}

snapshot_checks() {
  local failed=$FAILED
  check -m '^id=' "volume snapshot create --force (in-use)" \
    os --os-volume-api-version 3.0 volume snapshot create --force --volume "$GV_VOL" "gsnap-$S" -f shell -c id
  (( FAILED == failed )) || return
  GV_SNAP=$(val id)
  check -m '^available$' "the snapshot becomes available" wait_resource "volume snapshot" "$GV_SNAP" available
  check -m '^id=' "volume create --snapshot" os volume create --snapshot "$GV_SNAP" "gvol-snap-$S" -f shell -c id
  (( FAILED == failed )) && copy_checks "the volume from the snapshot" "$(val id)"
}

backup_checks() {
  local failed=$FAILED
  check -m '^id=' "volume backup create --force (in-use)" \
    os volume backup create --force --name "gbak-$S" "$GV_VOL" -f shell -c id
  (( FAILED == failed )) || return
  GV_BACKUP=$(val id)
  check -m '^available$' "the backup becomes available" wait_resource "volume backup" "$GV_BACKUP" available
  check -m '^volume_id=' "volume backup restore (into a new volume)" \
    os volume backup restore "$GV_BACKUP" "gvol-restored-$S" -f shell
  (( FAILED == failed )) && copy_checks "the restored volume" "$(val volume_id)"
}

# A volume written in the first server, extended there, read in a second server.
shared_volume_checks() {
  local disk
  check -m '^id=' "volume create (1 GiB, for the guests)" os volume create --size 1 "gvol-$S" -f shell -c id
  GV_VOL=$(val id)
  check -m '^available$' "the volume becomes available" wait_volume "${GV_VOL:-none}" available
  check -m '^in-use$' "server add volume (the first server)" attach "guest-$S" "$GV_VOL"
  check -m '^vd[b-z]$' "the guest sees the volume's disk (its serial)" guest_disk "$FIP" "$GV_VOL"
  disk=${OUT:-none}
  check -m '^[0-9a-f]{32}$' "4 MiB of random data written to it" root_ssh_to "$FIP" "
    dd if=/dev/urandom of=/dev/$disk bs=1048576 count=4 && sync &&
    dd if=/dev/$disk bs=1048576 count=4 | md5sum | cut -d' ' -f1"
  GV_SUM=$(tail -1 <<<"$OUT")

  check "volume set --size 2 while attached (3.42)" os "${VOLUME_API[@]}" volume set --size 2 "$GV_VOL"
  check -m '^in-use$' "the extended volume is in-use again" wait_volume "$GV_VOL" in-use
  # a failed extend must not stop the checks that follow
  [[ $OUT == error_extending ]] && openstack volume set --state in-use "$GV_VOL"
  check -m '^2$' "its size is 2" os volume show "$GV_VOL" -f value -c size
  check -m '^2147483648$' "the guest sees a 2 GiB disk" disk_bytes "$FIP" "$GV_VOL" 2147483648

  migrate_attached_checks "$disk"

  check -m '^available$' "server remove volume" detach "guest-$S" "$GV_VOL"
  check -m '^status="ACTIVE"' "a second server" new_server "$GV_SECOND" --image "$IMAGE"
  check -m '^id=' "a second floating ip" os floating ip create public -f shell -c id
  GV_FIP2_ID=$(val id)
  GV_FIP2=$(openstack floating ip show "${GV_FIP2_ID:-none}" -f value -c floating_ip_address)
  check "server add floating ip (the second server)" os server add floating ip "$GV_SECOND" "$GV_FIP2"
  check "the second server answers over SSH" wait_ssh_to "$GV_FIP2" 180
  check -m '^in-use$' "server add volume (the second server)" attach "$GV_SECOND" "$GV_VOL"
  check -m "^$GV_SUM\$" "the second server reads the same 4 MiB" disk_md5 "$GV_FIP2" "$GV_VOL"
  check -m '^2147483648$' "and sees 2 GiB" disk_bytes "$GV_FIP2" "$GV_VOL" 2147483648
}

# The attached volume migrated to the other backend while the guest writes to it: QEMU
# mirrors the disk onto the new backend's volume and pivots; the guest's 4 MiB and the lines
# it wrote meanwhile read back, and the volume's old file is gone.
migrate_attached_checks() {
  local disk=$1 from to old_file deadline
  from=$(openstack volume show "$GV_VOL" -f value -c os-vol-host-attr:host)
  if [[ $from == *@file#file ]]; then to=${from%@*}@file2#file2; else to=${from%@*}@file#file; fi
  old_file="$DATA/volumes/${from##*#}/volume-$GV_VOL"
  check "volume migrate --host $to while attached" os volume migrate --host "$to" "$GV_VOL"
  check -m '^written$' "the guest writes to the disk while it migrates" root_ssh_to "$FIP" "
    for i in \$(seq 10); do echo during-\$i | dd of=/dev/$disk bs=512 seek=16384 conv=fsync 2>/dev/null
    sleep 0.3; done; echo written"
  deadline=$((SECONDS + VOLUME_TIMEOUT))
  while [[ $(openstack volume show "$GV_VOL" -f value -c os-vol-mig-status-attr:migstat) == migrating ]] &&
    (( SECONDS < deadline )); do sleep 2; done
  check -m '^success$' "the migration succeeds" os volume show "$GV_VOL" -f value -c os-vol-mig-status-attr:migstat
  check -m "^$to\$" "the volume is on $to" os volume show "$GV_VOL" -f value -c os-vol-host-attr:host
  check -m '^in-use$' "and still in-use" os volume show "$GV_VOL" -f value -c status
  # the guest's page cache dropped, so what it reads comes from the new disk
  check -m "^$GV_SUM\$" "the guest reads the same 4 MiB after the swap" root_ssh_to "$FIP" "
    sync && echo 3 > /proc/sys/vm/drop_caches && dd if=/dev/$disk bs=1048576 count=4 2>/dev/null | md5sum | cut -d' ' -f1"
  check -m '^during-10$' "and the last line it wrote during the migration" root_ssh_to "$FIP" \
    "dd if=/dev/$disk bs=512 skip=16384 count=1 2>/dev/null | head -n 1"
  check -x "the old backend's file is gone" test -e "$old_file"
}

# The second server, the volumes, the snapshot and the backup deleted.
volume_cleanup() {
  check "server delete --wait (the second server)" timeout 300 openstack server delete --wait "$GV_SECOND"
  check -m '^available$' "its volumes are available again" bash -c "for v in $GV_VOL ${GV_COPIES[*]}; do
    [[ \$(openstack volume show \$v -f value -c status) == available ]] || { echo \$v; exit 1; }; done; echo available"
  [[ -n $GV_BACKUP ]] && check "volume backup delete" os volume backup delete "$GV_BACKUP"
  (( ${#GV_COPIES[@]} )) && check "delete the copies (from the snapshot, the backup)" delete_volumes "${GV_COPIES[@]}"
  if [[ -n $GV_SNAP ]]; then
    check "volume snapshot delete" os volume snapshot delete "$GV_SNAP"
    check -x "the snapshot is gone" bash -c "for i in \$(seq 30); do
      openstack volume snapshot show '$GV_SNAP' >/dev/null 2>&1 || exit 1; sleep 2; done"
  fi
  check "delete the volume" delete_volumes "${GV_VOL:-none}"
}

# boot_volume_server_checks SERVER ROOT: its root volume, SSH, hard reboot, stop and start.
boot_volume_server_checks() {
  local bfv=$1 root=$2
  check -m '^in-use$' "its root volume is in-use" wait_volume "${root:-none}" in-use
  check "server add floating ip (the volume-booted server)" os server add floating ip "$bfv" "$GV_FIP2"
  check "the volume-booted server answers over SSH" wait_ssh_to "$GV_FIP2" 180
  check -m '^vda$' "its first disk is the volume" guest_disk "$GV_FIP2" "${root:-none}"
  check -m '^status="ACTIVE"' "server reboot --hard --wait (volume-booted)" bash -c \
    "timeout 300 openstack server reboot --hard --wait '$bfv' && openstack server show '$bfv' -f shell -c status"
  check "SSH after the hard reboot (volume-booted)" wait_ssh_to "$GV_FIP2" 180
  check -m '^SHUTOFF$' "server stop (volume-booted)" act_on "$bfv" stop SHUTOFF
  check -m '^ACTIVE$' "server start (volume-booted)" act_on "$bfv" start ACTIVE
  check "SSH after start (volume-booted)" wait_ssh_to "$GV_FIP2" 180
}

# A server booted from a volume made of a raw image that names the guest's kernel and ramdisk
# (Block Storage writes raw and qcow2 images to volumes, not AMIs); the floating IP moves to it.
boot_volume_checks() {
  local bfv=guest-bfv-$S root image failed=$FAILED
  check -m '^id=' "raw image naming the kernel and ramdisk" os image create --disk-format raw --container-format bare \
    --file "$GUEST/disk.raw" --property "kernel_id=$KERNEL" --property "ramdisk_id=$RAMDISK" \
    --property "os_command_line=console=ttyS0 quiet" "guest-raw-$S" -f shell -c id
  image=$(val id)
  check -m '^status="ACTIVE"' "server create --boot-from-volume 1" \
    new_server "$bfv" --image "${image:-none}" --boot-from-volume 1
  root=$(openstack server show "$bfv" -f value -c volumes_attached 2>/dev/null | grep -oE '[0-9a-f-]{36}' | head -1)
  if (( FAILED == failed )); then boot_volume_server_checks "$bfv" "$root"; fi
  check "server delete --wait (volume-booted)" timeout 300 openstack server delete --wait "$bfv"
  if [[ -n $root ]] && openstack volume show "$root" >/dev/null 2>&1; then
    check -m '^available$' "its root volume is available again" wait_volume "$root" available
    check "delete the root volume" delete_volumes "$root"
  fi
  check "image delete (the raw image)" os image delete "${image:-none}"
}

# A volume of a type with front-end QoS (1 MiB/s in all) reads at that rate in the guest:
# its 4 MiB take over 3 s (an unlimited virtio disk reads them in well under one).
qos_checks() {
  local qos type vol disk started
  check -m '^id=' "volume qos create --consumer front-end (total_bytes_sec 1 MiB/s)" \
    os volume qos create --consumer front-end --property total_bytes_sec=1048576 "gqos-$S" -f shell -c id
  qos=$(val id)
  check -m '^id=' "a volume type with that QoS" os volume type create "gqos-type-$S" -f shell -c id
  type=$(val id)
  check "volume qos associate" os volume qos associate "${qos:-none}" "${type:-none}"
  check -m '^id=' "a volume of that type" os volume create --size 1 --type "${type:-none}" "gvol-qos-$S" -f shell -c id
  vol=$(val id)
  check -m '^available$' "the limited volume becomes available" wait_volume "${vol:-none}" available
  check -m '^in-use$' "server add volume (limited)" attach "guest-$S" "$vol"
  check -m '^vd[b-z]$' "the guest sees the limited disk" guest_disk "$FIP" "$vol"
  disk=${OUT:-none}
  started=$SECONDS
  check -m '^4194304$' "the guest reads 4 MiB of it" root_ssh_to "$FIP" \
    "dd if=/dev/$disk bs=65536 count=64 2>/dev/null | wc -c"
  check -m '^limited$' "at no more than the limit (over 3 s; took $((SECONDS - started)) s)" \
    bash -c "(( $((SECONDS - started)) >= 3 )) && echo limited"
  check -m '^available$' "server remove volume (limited)" detach "guest-$S" "$vol"
  check "delete the limited volume" delete_volumes "${vol:-none}"
  check "volume type and QoS delete" bash -c "openstack volume qos disassociate --all '${qos:-none}' &&
    openstack volume type delete '${type:-none}' && openstack volume qos delete '${qos:-none}'"
}

# disk_line IP VOLUME: the first line on the volume's disk in the guest at IP.
disk_line() {
  local disk; disk=$(guest_disk "$1" "$2") || { echo "$disk"; return 1; }
  root_ssh_to "$1" "head -c 100 /dev/$disk | head -n 1"
}

encryption_checks() {
  local type vol file
  check -m '^id=' "volume type create --encryption-provider luks (aes-xts-plain64, 256 bits)" \
    os volume type create --encryption-provider luks --encryption-cipher aes-xts-plain64 --encryption-key-size 256 \
    --encryption-control-location front-end "genc-type-$S" -f shell -c id
  type=$(val id)
  check -m '^id=' "an encrypted volume" os volume create --size 1 --type "${type:-none}" "gvol-enc-$S" -f shell -c id
  vol=$(val id)
  check -m '^available$' "the encrypted volume becomes available" wait_volume "${vol:-none}" available
  check -m '^True$' "volume show: encrypted" os volume show "${vol:-none}" -f value -c encrypted
  check -m '^in-use$' "server add volume (encrypted)" attach "guest-$S" "$vol"
  check -m '^vd[b-z]$' "the guest sees the encrypted disk" guest_disk "$FIP" "$vol"
  check -m "^plain-$S\$" "the guest writes a line to it and reads it" root_ssh_to "$FIP" \
    "echo plain-$S | dd of=/dev/${OUT:-none} conv=fsync 2>/dev/null && head -c 100 /dev/${OUT:-none} | head -n 1"
  check -m '^available$' "server remove volume (encrypted)" detach "guest-$S" "$vol"
  file=$(openstack volume show "$vol" -f value -c os-vol-host-attr:host)
  file="$DATA/volumes/${file##*#}/volume-$vol"
  check -m '^0$' "the volume's file on the host does not hold the line" \
    bash -c "test -f '$file' && { grep -c 'plain-$S' '$file' || true; }"
  check -m '^in-use$' "attached again" attach "guest-$S" "$vol"
  check -m "^plain-$S\$" "the guest reads the line back" disk_line "$FIP" "$vol"
  check -m '^available$' "detached again" detach "guest-$S" "$vol"
  check "delete the encrypted volume" delete_volumes "${vol:-none}"
  check "delete the encrypted volume type" os volume type delete "${type:-none}"
}

volume_checks() {
  GV_SECOND=guest-b-$S GV_VOL='' GV_SUM='' GV_FIP2='' GV_FIP2_ID='' GV_SNAP='' GV_BACKUP='' GV_COPIES=()
  shared_volume_checks
  qos_checks
  encryption_checks
  snapshot_checks
  backup_checks
  volume_cleanup
  boot_volume_checks
  check "floating ip delete (the second one)" os floating ip delete "${GV_FIP2_ID:-none}"
}
