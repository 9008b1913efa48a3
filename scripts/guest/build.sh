#!/usr/bin/env bash
# Build the tiny Linux guest the QEMU compute driver boots, a CirrOS look-alike:
#
#   scripts/guest/build.sh OUTDIR   # writes OUTDIR/vmlinuz, OUTDIR/initrd, OUTDIR/disk.raw
#
# vmlinuz is Debian's linux-image-amd64 kernel; the guest runs entirely from the
# initrd (busybox, dropbear). At boot it reads the config drive (label config-2) or
# else DHCP + http://169.254.169.254, sets the hostname, configures the network
# from network_data.json, creates user cirros (password gocubsgo or admin_pass),
# installs public_keys, starts sshd, powers off on ACPI shutdown. disk.raw is a
# 1 MiB blank disk to upload as the nominal machine image.
# Boot with: -kernel vmlinuz -initrd initrd -append "console=ttyS0 quiet"
#
# The result is cached in $STRATUS_GUEST_CACHE (default /var/cache/stratus-guest),
# keyed by this script's hash; delete the cache to pick up a newer kernel.
set -euo pipefail

OUT=${1:?usage: $0 OUTDIR}
CACHE=${STRATUS_GUEST_CACHE:-/var/cache/stratus-guest}/$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
BOOT_MODULES="virtio_pci virtio_net virtio_blk isofs af_packet virtio_rng button evdev"
CDROM_MODULES="sr_mod ata_piix ahci"  # loaded only when no virtio disk is the config drive

build() {
  local missing=() p
  for p in busybox-static dropbear-bin cpio kmod xz-utils; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi

  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  local root=$TMP/root k=$TMP/kernel
  fetch_kernel "$k"
  local kver
  kver=$(ls "$k/lib/modules")
  mods=$k/lib/modules/$kver
  # The .deb ships no modules.dep (its postinst runs depmod), so make one.
  depmod -b "$k" "$kver"

  mkdir -p "$root"/{bin,dev,etc,home,lib/modules,lib64,mnt,proc,root,run,sys,tmp,usr/share,var/log}
  # Everything in /bin: dropbear gives sessions PATH=/usr/bin:/bin only.
  ln -s bin "$root/sbin"
  ln -s ../bin "$root/usr/bin"
  ln -s ../bin "$root/usr/sbin"
  ln -s ../run "$root/var/run"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/"
  local bin lib
  for bin in /usr/sbin/dropbear /usr/bin/dropbearkey; do
    cp "$bin" "$root/bin/"
    for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done

  seen=" "
  add_modules "$root/lib/modules/boot" $BOOT_MODULES
  add_modules "$root/lib/modules/cdrom" $CDROM_MODULES
  write_files "$root"

  mkdir -p "$TMP/out"
  cp "$k"/boot/vmlinuz-* "$TMP/out/vmlinuz"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 >"$TMP/out/initrd"
  truncate -s 1M "$TMP/out/disk.raw"
  mkdir -p "$CACHE"
  cp "$TMP"/out/* "$CACHE/"
  touch "$CACHE/.complete"
}

# fetch_kernel DIR: unpack the kernel linux-image-amd64 points at (not installed on the host).
fetch_kernel() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" { print $2; exit }') || true
  if [[ -z $pkg ]] || ! (cd "$TMP" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" 2>/dev/null); then
    apt-get update -qq  # no or stale package lists
    pkg=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" { print $2; exit }')
    (cd "$TMP" && apt-get download -qq -o APT::Sandbox::User=root "$pkg")
  fi
  dpkg-deb -x "$TMP/$pkg"_*.deb "$1"
}

# add_modules LIST MODULE...: copy each module and its dependencies into the initrd
# and append their names to LIST in load order. Built-in modules are skipped.
add_modules() {
  local list=$1 m pattern deps dep f name
  shift
  for m; do
    pattern="/${m//[-_]/[-_]}\.ko(\.xz)?"
    grep -Eq "$pattern\$" "$mods/modules.builtin" && continue
    read -ra deps < <(grep -E "$pattern:" "$mods/modules.dep" | tr -d :) || true
    ((${#deps[@]})) || { echo "build.sh: no kernel module $m" >&2; exit 1; }
    # "module: deps..." lists the whole dependency closure; load it last to first
    for ((dep = ${#deps[@]} - 1; dep >= 0; dep--)); do
      f=${deps[dep]}
      name=$(basename "$f" .xz)
      name=${name%.ko}
      [[ $seen == *" $name "* ]] && continue
      seen+="$name "
      case $f in
        *.xz) xz -dc "$mods/$f" >"$(dirname "$list")/$name.ko" ;;
        *) cp "$mods/$f" "$(dirname "$list")/$name.ko" ;;
      esac
      echo "$name" >>"$list"
    done
  done
}

write_files() {
  local root=$1
  cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# First process: mount the basics, then hand PID 1 to busybox init (/etc/inittab).
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run
exec /sbin/init
EOF

  cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/rc
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
EOF

  cat >"$root/etc/rc" <<'EOF'
#!/bin/sh
# Boot script: modules, metadata (config drive or metadata service), network,
# users and keys, sshd. Everything it prints goes to the serial console.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
say() { echo "stratus-guest: $*"; }

# jsonflat FILE: flatten JSON into "path<TAB>value" lines, e.g. {"a": [{"b": "x"}]}
# gives "a.0.b<TAB>x". A string with newlines gives one line per non-empty line.
jsonflat() {
  awk '
  function path(   p, d) {
    for (d = 1; d <= depth; d++) p = p (d > 1 ? "." : "") (type[d] == "{" ? key[d] : idx[d])
    return p
  }
  function emit(v,   n, i, part) {
    n = split(v, part, "\n")
    if (n == 0) print path() "\t"
    for (i = 1; i <= n; i++) if (part[i] != "" || n == 1) print path() "\t" part[i]
  }
  function utf8(c) {
    if (c < 128) return sprintf("%c", c)
    if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
    return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
  }
  { s = s $0 "\n" }
  END {
    n = length(s)
    for (i = 1; i <= n; ) {
      c = substr(s, i, 1)
      if (c == "{" || c == "[") { type[++depth] = c; idx[depth] = 0; want_key = c == "{"; i++ }
      else if (c == "}" || c == "]") { depth--; i++ }
      else if (c == ",") { if (type[depth] == "[") idx[depth]++; else want_key = 1; i++ }
      else if (c == ":") { want_key = 0; i++ }
      else if (c == "\"") {
        v = ""
        for (i++; i <= n && (c = substr(s, i, 1)) != "\""; i++) {
          if (c == "\\") {
            c = substr(s, ++i, 1)
            if (c == "n") c = "\n"
            else if (c == "t") c = "\t"
            else if (c == "r" || c == "b" || c == "f") c = ""
            else if (c == "u") {
              for (u = 0; u < 4; u++) c = c * 16 + index("0123456789abcdef", tolower(substr(s, ++i, 1))) - 1
              c = utf8(c + 0)
            }
          }
          v = v c
        }
        i++
        if (type[depth] == "{" && want_key) key[depth] = v; else emit(v)
      }
      else if (c ~ /[-0-9a-z]/) {
        for (v = ""; i <= n && (c = substr(s, i, 1)) ~ /[-+.0-9a-zA-Z]/; i++) v = v c
        emit(v == "null" ? "" : v)
      }
      else i++
    }
  }' "$1"
}

# jget FLAT PATH: the value(s) at PATH
jget() { awk -v k="$2" 'BEGIN { FS = "\t" } $1 == k { sub(/^[^\t]*\t/, ""); print }' "$1"; }

load_modules() { for m in $(cat "/lib/modules/$1"); do insmod "/lib/modules/$m.ko"; done; }

# Nova's config drive: an ISO9660 filesystem labelled config-2.
mount_config_drive() {
  for dev in /dev/vd? /dev/sr?; do
    [ -b "$dev" ] || continue
    [ "$(dd if="$dev" bs=1 skip=32808 count=9 2>/dev/null)" = "config-2 " ] || continue
    mount -t iso9660 -o ro "$dev" /mnt 2>/dev/null || continue
    [ -f /mnt/openstack/latest/meta_data.json ] && { say "config drive $dev"; return 0; }
    umount /mnt
  done
  return 1
}

# (Debian's busybox defaults to /etc/udhcpc/default.script)
# CD-ROM drivers only if needed: probing IDE/SATA costs boot time
find_config_drive() {
  mount_config_drive && return
  load_modules cdrom
  for try in 1 2 3; do
    sleep 1
    mount_config_drive && return
  done
  return 1
}

dhcp() { udhcpc -i "$1" -n -q -t 5 -s /usr/share/udhcpc/default.script >/dev/null; }

iface_with_mac() {
  for f in /sys/class/net/*/address; do
    [ "$(cat "$f")" = "$1" ] && { basename "$(dirname "$f")"; return; }
  done
}

# configure_network FLAT: apply network_data.json; fails if no interface got configured
configure_network() {
  n=$1 ok=
  i=0
  while id=$(jget "$n" "links.$i.id") && [ -n "$id" ]; do
    mac=$(jget "$n" "links.$i.ethernet_mac_address" | tr A-F a-f)
    mtu=$(jget "$n" "links.$i.mtu")
    i=$((i + 1))
    dev=$(iface_with_mac "$mac")
    [ -n "$dev" ] || { say "no interface for link $id ($mac)"; continue; }
    [ -n "$mtu" ] && ip link set dev "$dev" mtu "$mtu"
    ip link set dev "$dev" up
    j=0
    while type=$(jget "$n" "networks.$j.type") && [ -n "$type" ]; do
      if [ "$(jget "$n" "networks.$j.link")" = "$id" ]; then
        case $type in
          ipv4)
            ifconfig "$dev" "$(jget "$n" "networks.$j.ip_address")" netmask "$(jget "$n" "networks.$j.netmask")" up
            r=0
            while gw=$(jget "$n" "networks.$j.routes.$r.gateway") && [ -n "$gw" ]; do
              net=$(jget "$n" "networks.$j.routes.$r.network")
              mask=$(jget "$n" "networks.$j.routes.$r.netmask")
              if [ "$net" = 0.0.0.0 ]; then route add default gw "$gw" dev "$dev"
              else route add -net "$net" netmask "$mask" gw "$gw" dev "$dev"; fi
              r=$((r + 1))
            done
            ok=1; break ;;
          ipv4_dhcp) dhcp "$dev" && ok=1; break ;;
        esac
      fi
      j=$((j + 1))
    done
  done
  # services may come before or after their type, so read the file twice
  awk 'BEGIN { FS = "\t" }
    NR == FNR { if ($1 ~ /services\.[0-9]+\.type$/ && $2 == "dns") { p = $1; sub(/type$/, "address", p); dns[p] = 1 }; next }
    $1 in dns { print "nameserver " $2 }' "$n" "$n" >/etc/resolv.conf
  [ -n "$ok" ]
}

load_modules boot
ifconfig lo 127.0.0.1 up
syslogd
acpid

meta=/run/meta_data net=/run/network_data
if find_config_drive; then
  jsonflat /mnt/openstack/latest/meta_data.json >"$meta"
  touch "$net"
  [ -f /mnt/openstack/latest/network_data.json ] && jsonflat /mnt/openstack/latest/network_data.json >"$net"
  umount /mnt
  configure_network "$net" || dhcp eth0
else
  say "no config drive: DHCP on eth0 and the metadata service"
  dhcp eth0
  for try in 1 2 3; do
    wget -q -T 5 -O /run/meta_data.json http://169.254.169.254/openstack/latest/meta_data.json && break
    sleep 1
  done
  touch /run/meta_data.json
  jsonflat /run/meta_data.json >"$meta"
fi

name=$(jget "$meta" hostname | head -n 1 | cut -c1-63)
hostname "${name:-cirros}"
hostname >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$(hostname)" >/etc/hosts
say "hostname $(hostname)"
ip -o -4 addr show | while read -r _ dev _ addr _; do say "network $dev $addr"; done
ip route show | while read -r route; do say "route $route"; done

pass=$(jget "$meta" admin_pass | head -n 1)
hash=$(printf '%s\n' "${pass:-gocubsgo}" | mkpasswd -m sha512 -P 0)
printf 'root:*:19000:0:99999:7:::\ncirros:%s:19000:0:99999:7:::\n' "$hash" >/etc/shadow
chmod 600 /etc/shadow
keys=$(awk 'BEGIN { FS = "\t" } $1 ~ /^(public_keys\.|keys\.[0-9]+\.data$)/ { sub(/^[^\t]*\t/, ""); if (!seen[$0]++) print }' "$meta")
# install_keys UID HOME (dropbear wants the .ssh dir 700 and the file 600, owned by the user)
install_keys() {
  mkdir -p "$2/.ssh"
  echo "$keys" >"$2/.ssh/authorized_keys"
  chown -R "$1:$1" "$2"
  chmod 755 "$2"
  chmod 700 "$2/.ssh"
  chmod 600 "$2/.ssh/authorized_keys"
}
install_keys 0 /root
install_keys 1000 /home/cirros
say "$(echo "$keys" | grep -c .) ssh key(s)"

mkdir -p /etc/dropbear
for t in rsa ecdsa ed25519; do
  dropbearkey -t $t -f /etc/dropbear/dropbear_${t}_host_key >/dev/null 2>&1
done
dropbear -r /etc/dropbear/dropbear_rsa_host_key -r /etc/dropbear/dropbear_ecdsa_host_key \
  -r /etc/dropbear/dropbear_ed25519_host_key -p 22 -P /run/dropbear.pid
say ready
EOF

  # busybox acpid runs this on the ACPI power button (a graceful stop)
  mkdir -p "$root/etc/acpi/PWRF"
  printf '#!/bin/sh\npoweroff\n' >"$root/etc/acpi/PWRF/00000080"

  mkdir -p "$root/usr/share/udhcpc"
  cat >"$root/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc hook: apply the lease's address, router and DNS servers
case $1 in
  deconfig) ifconfig "$interface" 0.0.0.0 up ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" ${mtu:+mtu "$mtu"} up
    if [ -n "$router" ]; then
      while route del default dev "$interface" 2>/dev/null; do :; done
      route add default gw "${router%% *}" dev "$interface"
    fi
    [ -n "$dns" ] && for d in $dns; do echo "nameserver $d"; done >/etc/resolv.conf
    ;;
esac
exit 0
EOF

  printf 'root:x:0:0:root:/root:/bin/sh\ncirros:x:1000:1000:cirros:/home/cirros:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\ntty:x:5:\ncirros:x:1000:\n' >"$root/etc/group"
  printf '/bin/sh\n' >"$root/etc/shells"
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  chmod 755 "$root/init" "$root/etc/rc" "$root/etc/acpi/PWRF/00000080" "$root/usr/share/udhcpc/default.script"
}

[[ -f $CACHE/.complete ]] || build
mkdir -p "$OUT"
cp "$CACHE"/{vmlinuz,initrd,disk.raw} "$OUT/"
echo "guest: $OUT/vmlinuz $OUT/initrd $OUT/disk.raw"
