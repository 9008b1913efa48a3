#!/usr/bin/env bash
# End-to-end checks with real guests, against a cloud whose compute host runs the QEMU
# driver and whose network agents run the Linux dataplane (scripts/test.sh's guest step):
# the guest image (scripts/guest/build.sh) as kernel, ramdisk and machine images, a server
# on `private` that boots, reads its config drive, is kept out of SSH by the default
# security group and let in by a group with an SSH rule (iptables on its tap), is reached
# through a floating IP on router1's namespace, survives reboot and stop/start, and
# leaves nothing behind. Its volume checks (volumes.sh): a volume written in one guest and read
# in another, extended while attached, copied by a snapshot and a backup; a server booted
# from a volume.
#
#   scripts/guest/e2e.sh DATA_DIR GUEST_DIR
#
# Same conventions as scripts/e2e/identity.sh. The last line is `e2e: N passed, N failed`.
set -uo pipefail

DATA=${1:?usage: e2e.sh DATA_DIR GUEST_DIR} GUEST=${2:?usage: e2e.sh DATA_DIR GUEST_DIR}
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

KEY=$DATA/guest-key.pem
# guest_ssh_to IP CMD...: CMD on the guest at IP, as GUEST_USER (cirros); guest_ssh CMD...: on
# the first server ($FIP).
guest_ssh_to() {
  local ip=$1; shift
  ssh -i "$KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o BatchMode=yes \
    -o LogLevel=ERROR "${GUEST_USER:-cirros}@$ip" "$@"
}
guest_ssh() { guest_ssh_to "$FIP" "$@"; }
# ssh_after SECONDS: one SSH attempt after the agents had time to apply a change.
ssh_after() { sleep "$1"; guest_ssh -o ConnectTimeout=5 true; }
# wait_console: the console log once the guest says it is ready (up to 120 s).
wait_console() {
  local i out; for ((i = 0; i < 60; i++)); do
    out=$(openstack console log show "guest-$S" 2>&1) && grep -q "stratus-guest: ready" <<<"$out" && break; sleep 2
  done
  echo "$out"
}
# qemu_count: how many QEMU processes run the server ($ID); "[q]" keeps this shell's
# own command line from matching.
qemu_count() { pgrep -fc "[q]emu-system.*-uuid $ID" || true; }
# act ACTION STATUS: `openstack server ACTION`, then the status it reaches (OSC has no --wait for these).
act() { openstack server "$1" "guest-$S" && wait_status "guest-$S" "$2"; }
# wait_ssh_to IP [SECONDS]: waits up to SECONDS (default 90) until the guest at IP answers over
# SSH. wait_ssh [SECONDS]: the same for the first server.
wait_ssh_to() {
  local deadline=$((SECONDS + ${2:-90}))
  until guest_ssh_to "$1" true 2>/dev/null; do (( SECONDS < deadline )) || return 1; sleep 2; done
}
wait_ssh() { wait_ssh_to "$FIP" "$@"; }
# shellcheck source=volumes.sh
source "$(dirname "$0")/volumes.sh"

check -m '^id=' "kernel image (aki)" \
  os image create --public --container-format aki --disk-format aki --file "$GUEST/vmlinuz" "guest-kernel-$S" -f shell -c id
KERNEL=$(val id)
check -m '^id=' "ramdisk image (ari)" \
  os image create --public --container-format ari --disk-format ari --file "$GUEST/initrd" "guest-ramdisk-$S" -f shell -c id
RAMDISK=$(val id)
check -m '^id=' "machine image (ami) naming its kernel and ramdisk" \
  os image create --public --container-format ami --disk-format ami --file "$GUEST/disk.raw" --property "kernel_id=$KERNEL" \
  --property "ramdisk_id=$RAMDISK" --property "os_command_line=console=ttyS0 quiet" "guest-$S" -f shell -c id
IMAGE=$(val id)
echo "$IMAGE" >"$DATA/guest-image-id"

check "keypair create (generated key)" bash -c "openstack keypair create guest-key-$S >'$KEY' && chmod 600 '$KEY'"
check -m '^status="ACTIVE"' "server create --wait (a QEMU guest on private)" \
  os server create --image "$IMAGE" --flavor m1.nano --network private --key-name "guest-key-$S" --wait "guest-$S" -f shell -c status
ID=$(openstack server show "guest-$S" -f value -c id)
check -m "^1\$" "one QEMU process runs the server" qemu_count
PORT=$(openstack port list --server "$ID" -f value -c ID | head -1)
check -m '^ACTIVE$' "its port is ACTIVE (the bridge agent saw the tap)" os port show "$PORT" -f value -c status
check -m "^id=" "floating ip create on public" os floating ip create public -f shell -c id -c floating_ip_address
FIP_ID=$(val id)
FIP=$(openstack floating ip show "$FIP_ID" -f value -c floating_ip_address)
check "server add floating ip" os server add floating ip "guest-$S" "$FIP"
check -m "stratus-guest: ready" "console log show has the guest's boot" wait_console
check -x "the default security group keeps SSH out" guest_ssh -o ConnectTimeout=5 true
check "security group with SSH and ping" bash -c "openstack security group create 'guest-ssh-$S' >/dev/null &&
  openstack security group rule create --protocol tcp --dst-port 22 'guest-ssh-$S' >/dev/null &&
  openstack security group rule create --protocol icmp 'guest-ssh-$S' >/dev/null"
check "server add security group" os server add security group "guest-$S" "guest-ssh-$S"
check "the guest answers over SSH through the floating IP" wait_ssh 60
check -m "--dport 22 -j RETURN" "the port's ingress chain lets SSH in" iptables -S "stratus-i${PORT:0:10}"
check -m "^guest-$S\$" "its hostname is the server name (config drive)" guest_ssh hostname
check -m "^1\$" "it has the flavor's one vCPU" guest_ssh "grep -c ^processor /proc/cpuinfo"
check -m "-d $FIP/32 -j DNAT" -m "SNAT --to-source $FIP" "router1's namespace translates the floating IP" bash -c \
  "ip netns exec qrouter-\$(openstack router show router1 -f value -c id) iptables -t nat -S"

check -m '^status="ACTIVE"' "server reboot --hard --wait" bash -c "openstack server reboot --hard --wait 'guest-$S' && openstack server show 'guest-$S' -f shell -c status"
check "SSH again after the hard reboot" wait_ssh 120
check -m '^SHUTOFF$' "server stop" act stop SHUTOFF
check -m "^0\$" "no QEMU process while SHUTOFF" qemu_count
check -m '^ACTIVE$' "server start" act start ACTIVE
check "SSH again after start" wait_ssh 120
check -m '^PAUSED$' "server pause" act pause PAUSED
check -x "a paused guest does not answer" guest_ssh -o ConnectTimeout=3 true
check -m '^ACTIVE$' "server unpause" act unpause ACTIVE
check "SSH again after unpause" wait_ssh 60

volume_checks

check "server remove security group" os server remove security group "guest-$S" "guest-ssh-$S"
check -x "SSH is kept out again" ssh_after 3

check "floating ip delete" os floating ip delete "$FIP_ID"
check -n "$FIP" "the namespace forgets the floating IP" bash -c \
  "sleep 3; ip netns exec qrouter-\$(openstack router show router1 -f value -c id) iptables -t nat -S"
check "server delete --wait" os server delete --wait "guest-$S"
check -m "^0\$" "no QEMU process left" qemu_count
check "security group delete" os security group delete "guest-ssh-$S"
check -x "no tap device left" test -e "/sys/class/net/tap${PORT:0:11}"
finish
