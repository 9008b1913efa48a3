#!/usr/bin/env bash
# A large image through the Image API with curl: the server's resident memory may grow by
# at most E2E_IMAGE_RSS_GROWTH_MB (64) over its level before the transfer while
# E2E_LARGE_IMAGE_MB (2048) are uploaded and downloaded, and an upload cut off midway must
# leave the image queued with no data file. Growth, not an absolute bound: the shared cloud's
# resident size depends on what the scenarios beside this one have done.
#
#   scripts/e2e/image-large.sh DATA_DIR
set -uo pipefail

DATA=${1:?usage: image-large.sh DATA_DIR}
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

MB=${E2E_LARGE_IMAGE_MB:-2048}
GROWTH_MB=${E2E_IMAGE_RSS_GROWTH_MB:-64}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-e2e-large.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Exactly this cloud's server: the crash and format scenarios run clouds of their own in
# directories under $DATA, whose command lines begin the same way.
SERVER=$(pgrep -f "serve --data-dir $DATA( |$)" | head -1)
check -m '^[0-9]+$' "server process found" echo "${SERVER:-none}"
API_BASE=$(openstack endpoint list --service image --interface public -f value -c URL | head -1)
TOKEN=$(openstack token issue -f value -c id)
H=(-H "X-Auth-Token: $TOKEN")
rss_mb() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$SERVER/status"; }

# watch CMD...: runs CMD while sampling the server's RSS; leaves the level before in BEFORE,
# the peak in PEAK.
watch() {
  BEFORE=$(rss_mb) PEAK=$BEFORE
  "$@" &
  local pid=$! now
  while kill -0 $pid 2>/dev/null; do
    now=$(rss_mb); (( now > PEAK )) && PEAK=$now
    sleep 0.1
  done
  wait $pid
}

new_image() {
  curl -sS -X POST "${H[@]}" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1-$S\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}" "$API_BASE/v2/images" |
    sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'
}

truncate -s "${MB}M" "$WORK/large.img"   # sparse: reading it costs no disk
IMG=$(new_image large)
watch curl -sS -f -X PUT "${H[@]}" -H 'Content-Type: application/octet-stream' -T "$WORK/large.img" \
  "$API_BASE/v2/images/$IMG/file"
check -m 'ok' "upload ${MB} MB (RSS before ${BEFORE} MB, peak ${PEAK} MB)" \
  bash -c "(( $PEAK - $BEFORE < $GROWTH_MB )) && echo ok"
check -m "\"size\": *$((MB * 1048576))" -m '"status": *"active"' "image active with the full size" \
  curl -sS "${H[@]}" "$API_BASE/v2/images/$IMG"
watch curl -sS -f "${H[@]}" -o /dev/null "$API_BASE/v2/images/$IMG/file"
check -m 'ok' "download ${MB} MB (RSS before ${BEFORE} MB, peak ${PEAK} MB)" \
  bash -c "(( $PEAK - $BEFORE < $GROWTH_MB )) && echo ok"
check "delete the large image" curl -sS -f -X DELETE "${H[@]}" "$API_BASE/v2/images/$IMG"

# An upload cut off midway: the client goes away after about a second.
CUT=$(new_image cut)
timeout 1 curl -sS -X PUT "${H[@]}" -H 'Content-Type: application/octet-stream' --limit-rate 100M \
  -T "$WORK/large.img" "$API_BASE/v2/images/$CUT/file" >/dev/null 2>&1
for _ in $(seq 50); do
  curl -sS "${H[@]}" "$API_BASE/v2/images/$CUT" | grep -qE '"status": *"(queued|killed)"' && break
  sleep 0.1
done
check -m '"status": *"(queued|killed)"' "cut-off upload leaves the image queued" \
  curl -sS "${H[@]}" "$API_BASE/v2/images/$CUT"
check -m '^0$' "no data file left for the cut-off upload" bash -c "find '$DATA/images' -name '$CUT*' | wc -l"
check -m '^HTTP 204$' "the cut-off image takes a new upload" curl -sS -X PUT -w '\nHTTP %{http_code}\n' "${H[@]}" \
  -H 'Content-Type: application/octet-stream' --data-binary retry "$API_BASE/v2/images/$CUT/file"
check "delete the cut-off image" curl -sS -f -X DELETE "${H[@]}" "$API_BASE/v2/images/$CUT"
finish
