#!/usr/bin/env bash
# The Image service's format inspector with its default settings, on a cloud of its own (the
# test cloud lets tempest lie about image content): crafted images (a qcow2 backed by a host
# file, a qcow2 with an external data file, a raw image that is a qcow2, a vmdk whose extent
# is a host file, a truncated qcow2, bytes of no format called qcow2) are refused by
# `openstack image create`; a clean qcow2 is stored with its header's virtual size. Starts its
# cloud in DATA_DIR/image-formats.
#
#   scripts/e2e/image-formats.sh DATA_DIR
#
# Same conventions as identity.sh. The last line is `e2e: N passed, N failed`.
set -uo pipefail

SHARED=${1:?usage: image-formats.sh DATA_DIR}
# shellcheck source=../lib/serve.sh
source "$(dirname "$0")/../lib/serve.sh"
D=$SHARED/image-formats LOG=$SHARED/image-formats-server.log
rm -rf "$D"; mkdir -p "$D"
# The defaults, not the test cloud's image settings (scripts/test.sh exports those).
SETTINGS=(STRATUS_COMPUTE_FAKE_HOSTS=1 STRATUS_NETWORK_DATAPLANE=noop STRATUS_BLOCK_STORAGE_BACKUP_ENABLED=false
  STRATUS_IMAGE_ENABLED_BACKENDS=file:file STRATUS_IMAGE_STORE_WEIGHTS= STRATUS_IMAGE_DEFAULT_BACKEND=
  STRATUS_IMAGE_REQUIRE_IMAGE_FORMAT_MATCH=true)
if ! serve_stratus "$D" "$LOG" "${SETTINGS[@]}"; then
  echo "e2e: 0 passed, 1 failed"; exit 1
fi
trap 'stop_stratus "$STRATUS_PID"' EXIT
DATA=$D
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"
WORK=$D/work; mkdir -p "$WORK"

python3 - "$WORK" <<'PY'
import struct, sys
work = sys.argv[1]

def qcow2(size, backing=None, data_file=None, truncate=None):
    header = bytearray(65536)
    header[0:4] = b"QFI\xfb"
    struct.pack_into(">I", header, 4, 3)            # version 3
    struct.pack_into(">I", header, 20, 16)          # 64 KiB clusters
    struct.pack_into(">Q", header, 24, size)
    struct.pack_into(">I", header, 96, 4)           # refcount order
    struct.pack_into(">I", header, 100, 104)        # header length
    if backing:
        struct.pack_into(">QI", header, 8, 1024, len(backing))
        header[1024:1024 + len(backing)] = backing.encode()
    if data_file:
        struct.pack_into(">Q", header, 72, 1 << 2)  # incompatible feature: external data file
        struct.pack_into(">II", header, 104, 0x44415441, len(data_file))
        header[112:112 + len(data_file)] = data_file.encode()
    return bytes(header[:truncate] if truncate else header)

def vmdk(extent):
    header = bytearray(65536)
    header[0:4] = b"KDMV"
    struct.pack_into("<IIQQQQI", header, 4, 1, 3, 2048, 128, 1, 1, 512)
    descriptor = ('# Disk DescriptorFile\nversion=1\nCID=7e5b80a7\nparentCID=ffffffff\n'
                  'createType="monolithicSparse"\n\n# Extent description\n%s\n' % extent).encode()
    header[512:512 + len(descriptor)] = descriptor
    return bytes(header)

files = {
    "backing.qcow2": qcow2(1 << 30, backing="/etc/shadow"),
    "data-file.qcow2": qcow2(1 << 30, data_file="/dev/sda"),
    "qcow2-called-raw.img": qcow2(1 << 30),
    "host-extent.vmdk": vmdk('RW 2048 FLAT "/etc/shadow" 0'),
    "truncated.qcow2": qcow2(1 << 30, truncate=20),
    "noise.qcow2": bytes((i * 7 + 3) % 251 for i in range(65536)),
    "clean.qcow2": qcow2(1 << 30),
}
for name, data in files.items():
    with open(f"{work}/{name}", "wb") as out:
        out.write(data)
PY

refused() {  # refused WHAT DISK_FORMAT FILE
  check -x -m '400' "refused: $1" os image create --disk-format "$2" --container-format bare \
    --file "$WORK/$3" "crafted-$3-$S"
}
refused "a qcow2 backed by /etc/shadow" qcow2 backing.qcow2
refused "a qcow2 with an external data file" qcow2 data-file.qcow2
refused "a raw image that is a qcow2" raw qcow2-called-raw.img
refused "a vmdk whose extent is a host file" vmdk host-extent.vmdk
refused "a truncated qcow2" qcow2 truncated.qcow2
refused "bytes of no format called qcow2" qcow2 noise.qcow2
TOKEN=$(openstack token issue -f value -c id)
IMAGES=$(openstack catalog show image -f json | python3 -c '
import json, sys; print([e["url"] for e in json.load(sys.stdin)["endpoints"] if e["interface"] == "public"][0])')
ID=$(curl -s -X POST -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"name\": \"api-$S\", \"disk_format\": \"qcow2\", \"container_format\": \"bare\"}" "$IMAGES/v2/images" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
check -m 'failed safety checks \(backing_file\)' "the API says why (curl)" curl -s -X PUT -H "X-Auth-Token: $TOKEN" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/backing.qcow2" "$IMAGES/v2/images/$ID/file"
check -m '^queued$' "a refused upload leaves the image queued, without data" os image show "$ID" -f value -c status
check -m '^status="active"' -m '^virtual_size="1073741824"' "a clean qcow2 is stored with its virtual size" \
  os image create --disk-format qcow2 --container-format bare --file "$WORK/clean.qcow2" "clean-$S" -f shell
finish
