#!/usr/bin/env bash
# Image data throughput against the disk's own: uploads and downloads MB megabytes
# through a running Stratus Image API and compares them with dd on the same filesystem.
#
#   scripts/bench/image.sh DATA_DIR [MB] [IMAGES]
#
# Then it creates IMAGES (default 10000) images and measures listing and show with wrk.
# DATA_DIR is the server's --data-dir (clouds.yaml gives credentials and the catalog);
# `openstack`, `curl` and `python3` must be on PATH. Use a release build for real numbers.
set -euo pipefail

DATA=${1:?usage: image.sh DATA_DIR [MB]}
MB=${2:-1024}
COUNT=${3:-10000}
export OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=stratus
API=$(openstack endpoint list --service image --interface public -f value -c URL | head -1)
TOKEN=$(openstack token issue -f value -c id)
WORK=$(mktemp -d "$DATA/bench.XXXXXX")   # same filesystem as the image store
trap 'rm -rf "$WORK"; [[ -n ${IMG-} ]] && curl -s -X DELETE -H "X-Auth-Token: $TOKEN" "$API/v2/images/$IMG" >/dev/null' EXIT

rate() { awk -v mb="$MB" -v s="$1" 'BEGIN { printf "%8.0f MB/s  (%.2f s)", mb / s, s }'; }
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'; }

head -c "${MB}M" /dev/urandom >"$WORK/source.img"
echo "image data throughput, $MB MB of random data, $(df -h --output=source,fstype "$DATA" | tail -1)"
printf '  %-34s %s\n' "dd write (page cache)" "$(rate "$(timed dd if="$WORK/source.img" of="$WORK/dd.out" bs=1M)")"
printf '  %-34s %s\n' "dd write + fdatasync" "$(rate "$(timed dd if="$WORK/source.img" of="$WORK/dd.out" bs=1M conv=fdatasync)")"
printf '  %-34s %s\n' "dd read (page cache)" "$(rate "$(timed dd if="$WORK/dd.out" of=/dev/null bs=1M)")"
rm -f "$WORK/dd.out"

IMG=$(curl -sS -X POST -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"bench","disk_format":"raw","container_format":"bare"}' "$API/v2/images" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
printf '  %-34s %s\n' "upload (PUT /file, md5+sha512)" "$(rate "$(timed curl -sS -f -X PUT -H "X-Auth-Token: $TOKEN" \
  -H 'Content-Type: application/octet-stream' -T "$WORK/source.img" "$API/v2/images/$IMG/file")")"
printf '  %-34s %s\n' "download (GET /file)" "$(rate "$(timed curl -sS -f -H "X-Auth-Token: $TOKEN" -o /dev/null "$API/v2/images/$IMG/file")")"

# --- listing at scale -----------------------------------------------------------
(( COUNT > 0 )) || exit 0
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
START=$(date +%s.%N)
python3 - "$API" "$TOKEN" "$COUNT" <<'PY'
import http.client, json, sys, urllib.parse
api, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
url = urllib.parse.urlparse(api)
conn = http.client.HTTPConnection(url.hostname, url.port)
for i in range(count):
    body = {"name": f"bench-{i:06d}", "disk_format": "qcow2", "container_format": "bare",
            "tags": [f"group-{i % 100}"], "os_distro": f"distro-{i % 10}"}
    conn.request("POST", "/v2/images", json.dumps(body), {"X-Auth-Token": token, "Content-Type": "application/json"})
    reply = conn.getresponse(); reply.read()
    if reply.status != 201: sys.exit(f"create failed: {reply.status}")
PY
END=$(date +%s.%N)
awk -v n="$COUNT" -v a="$START" -v b="$END" 'BEGIN { printf "created %d images in %.1f s (%.0f/s, one client)\n", n, b - a, n / (b - a) }'
SOME=$(curl -sS -H "X-Auth-Token: $TOKEN" "$API/v2/images?limit=1&name=bench-005000" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)
# shellcheck source=../lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
echo "listing over $COUNT images (16 connections, 10 s each):"
bench "GET /v2/images (first page of 25)" "/v2/images"
bench "GET /v2/images sort=name:asc, marker" "/v2/images?sort=name:asc&marker=$SOME"
bench "GET /v2/images?tag=group-7" "/v2/images?tag=group-7"
bench "GET /v2/images?os_distro=distro-3&limit=100" "/v2/images?os_distro=distro-3&limit=100"
bench "GET /v2/images/{id}" "/v2/images/$SOME"
