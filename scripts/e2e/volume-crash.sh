#!/usr/bin/env bash
# Crash safety of Block Storage: `kill -9` of `stratus serve` while 20 volumes are being
# created from a 64 MiB image (and, when backups exist, 5 backups are being made), then a
# restart on the same data directory and ports. Within E2E_CRASH_SETTLE seconds (60) every
# volume must be `available` or `error` and every backup `available` or `error`; no `.part`
# file may be left in the backend directories (nor in the backup directory), no
# `volume-<id>` file may be there without its volume in the API, every available volume
# must have exactly one file (in its backend's directory) holding the image's bytes, and
# the cloud must still create and delete volumes. Starts its own cloud in
# DATA_DIR/volume-crash (two file backends, like scripts/test.sh's).
#
#   scripts/e2e/volume-crash.sh DATA_DIR
#
# Same conventions as identity.sh. E2E_CRASH_IMAGE_MB (64) sets the image's size and
# E2E_CRASH_VOLUMES (20) the number of volumes, E2E_CRASH_DELAY (0) the seconds between
# the last accepted create and the kill (`part`: until a `.part` file appears, 60 s at most). The last line is `e2e: N passed, N failed`.
set -uo pipefail

SHARED=${1:?usage: volume-crash.sh DATA_DIR}
# shellcheck source=../lib/serve.sh
source "$(dirname "$0")/../lib/serve.sh"
D=$SHARED/volume-crash LOG=$SHARED/volume-crash-server.log
rm -rf "$D"; mkdir -p "$D"   # a fresh cloud each run
SETTINGS=(STRATUS_COMPUTE_FAKE_HOSTS=2 STRATUS_NETWORK_DATAPLANE=noop STRATUS_BLOCK_STORAGE_ENABLED_BACKENDS=file,file2)
if ! serve_stratus "$D" "$LOG" "${SETTINGS[@]}"; then
  echo "e2e: 0 passed, 1 failed"; exit 1
fi
trap 'stop_stratus "$STRATUS_PID"' EXIT
DATA=$D
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

MB=${E2E_CRASH_IMAGE_MB:-64} COUNT=${E2E_CRASH_VOLUMES:-20} BACKUPS=5 SETTLE=${E2E_CRASH_SETTLE:-60}
DELAY=${E2E_CRASH_DELAY:-0}

# states KIND: `id status` of every volume (or backup) of every project, from the API.
states() {
  curl -sf -H "X-Auth-Token: $TOKEN" -H 'OpenStack-API-Version: volume 3.67' "$VAPI/$1/detail?all_tenants=1&limit=1000" |
    python3 -c 'import json,sys; [print(v["id"], v["status"]) for v in json.load(sys.stdin)[sys.argv[1]]]' "$1"
}
# summary: counts of the states on stdin, e.g. `18 available, 2 error`.
summary() { awk '{print $2}' | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "} END {print ""}'; }
# none: its input, or `none` if there is none.
none() { grep . || echo none; }
# unsettled KIND STATE...: the KIND whose state is not one of STATEs, or `none`.
unsettled() {
  local kind=$1 pattern; shift
  pattern=$(IFS='|'; echo "$*")
  states "$kind" | grep -Ev " ($pattern)\$" | none
  return 0
}
# wait_settled ID: waits (120 s at most) until volume ID is neither creating, downloading nor
# restoring, then prints its status.
wait_settled() {
  local deadline=$((SECONDS + 120)) st
  while true; do
    st=$(openstack volume show "$1" -f value -c status 2>&1)
    [[ $st =~ ^(creating|downloading|restoring-backup)$ ]] && (( SECONDS < deadline )) || break
    sleep 1
  done
  echo "$st"
}

check -m '^http' "volumev3 endpoint" os endpoint list --service volumev3 --interface public -f value -c URL
VAPI=$(head -1 <<<"$OUT")
check -m '^id=' "admin token" os token issue -f shell -c id -c project_id
TOKEN=$(val id) PROJECT=$(val project_id)
check "quota set --volumes --gigabytes --backups" \
  os quota set --volumes $((COUNT + BACKUPS + 10)) --gigabytes 1000 --backups $((BACKUPS + 5)) "$PROJECT"

head -c "${MB}M" /dev/urandom >"$D/crash-image.raw"
check -m '^status="active"' "image create (${MB} MiB of random data, raw)" \
  os image create --disk-format raw --container-format bare --file "$D/crash-image.raw" crash-image -f shell -c id -c status
IMAGE=$(val id)

# Backups, when the API has them: of volumes made (and finished) before the crash.
HAVE_BACKUPS=0
if openstack volume backup list >/dev/null 2>&1; then
  HAVE_BACKUPS=1
  SOURCES=()
  for i in $(seq 1 "$BACKUPS"); do
    SOURCES+=("$(openstack volume create --size 1 --image "$IMAGE" "crash-src-$i" -f value -c id)")
  done
  deadline=$((SECONDS + 120))
  while [[ $(unsettled volumes available error) != none ]] && (( SECONDS < deadline )); do sleep 1; done
  check -m '^none$' "the $BACKUPS volumes to back up are available" unsettled volumes available
else
  echo "(volume backup list fails: no backups in this burst)"
fi

# --- the burst, then kill -9 -----------------------------------------------------------
# All requests at once from threads; prints one `KIND STATUS ID` line per request.
burst() {
  python3 - "$VAPI" "$TOKEN" "$IMAGE" "$COUNT" "${SOURCES[@]}" <<'PY'
import http.client, json, sys, threading, urllib.parse
api, token, image, count, sources = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
url = urllib.parse.urlparse(api)
requests = [("volumes", {"volume": {"name": f"crash-{i}", "size": 1, "imageRef": image}}) for i in range(1, count + 1)]
requests += [("backups", {"backup": {"name": f"crash-backup-{i}", "volume_id": v}}) for i, v in enumerate(sources, 1)]
results = []
def post(kind, body):
    try:
        connection = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = connection(url.hostname, url.port, timeout=120)
        conn.request("POST", f"{url.path}/{kind}", json.dumps(body), {"X-Auth-Token": token,
                     "Content-Type": "application/json", "OpenStack-API-Version": "volume 3.67"})
        reply = conn.getresponse()
        data = json.loads(reply.read() or b"{}")
        results.append(f"{kind} {reply.status} {data.get(kind[:-1], {}).get('id', data)}")
    except Exception as error:
        results.append(f"{kind} failed {error}")
threads = [threading.Thread(target=post, args=r) for r in requests]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(results))
PY
}
(( HAVE_BACKUPS )) || SOURCES=()
check -m "^volumes 202 " -n '^(volumes|backups) (failed|[^2])' "$COUNT volume creates --image$( ((HAVE_BACKUPS)) && echo " and $BACKUPS backup creates") accepted" burst
# The server and the processes it runs (qemu-img) die together, as in a power cut.
if [[ $DELAY == part ]]; then   # until some data is being written
  deadline=$((SECONDS + 60))
  until [[ -n $(find "$D/volumes" "$D/backups" -name '*.part' 2>/dev/null) ]] || (( SECONDS > deadline )); do sleep 0.1; done
else
  sleep "$DELAY"
fi
AT_KILL="volumes $(states volumes | summary); backups $( ((HAVE_BACKUPS)) && states backups | summary)"
IN_FLIGHT=$(pgrep -P "$STRATUS_PID" | paste -sd, -)
CHILDREN=$([[ -n $IN_FLIGHT ]] && ps -o args= -p "$IN_FLIGHT" | awk '{print $1, $2}' | sort | uniq -c)
kill -KILL "$STRATUS_PID" ${IN_FLIGHT//,/ } 2>/dev/null
wait "$STRATUS_PID" 2>/dev/null
echo "killed the server $([[ $DELAY == part ]] && echo "when a .part file appeared" || echo "$DELAY s") after the creates were accepted ($AT_KILL), and its child processes:"
echo "${CHILDREN:-  (none)}"
echo "left in the backend and backup directories: $(find "$D/volumes" "$D/backups" -type f 2>/dev/null | sed 's|.*/||; s/[0-9a-f]\{8\}-[0-9a-f-]\{27\}/<id>/g' | sort | uniq -c | tr -s ' \n' ' ')"

# --- restart and settle ----------------------------------------------------------------
restart_stratus "$D" "$LOG" "${SETTINGS[@]}"; RESTARTED=$?   # not under check: it sets STRATUS_PID
check -m '^0$' "the server restarts on the same data directory and ports" echo "$RESTARTED"
check -m '^id=' "a token after the restart" os token issue -f shell -c id
TOKEN=$(val id)
deadline=$((SECONDS + SETTLE))
while (( SECONDS < deadline )); do
  [[ $(unsettled volumes available error) == none ]] &&
    { (( ! HAVE_BACKUPS )) || [[ $(unsettled backups available error) == none ]]; } && break
  sleep 1
done
echo "volumes after the restart: $(states volumes | summary)"
(( HAVE_BACKUPS )) && echo "backups after the restart: $(states backups | summary)"
check -m '^none$' "within ${SETTLE} s every volume is available or error" unsettled volumes available error
count() { states "$1" | wc -l; }
check -m "^$((COUNT + ${#SOURCES[@]}))$" "the API has every volume" count volumes
if (( HAVE_BACKUPS )); then
  check -m '^none$' "within ${SETTLE} s every backup is available or error" unsettled backups available error
  check -m "^$BACKUPS$" "the API has every backup" count backups
fi

# --- what is on disk -------------------------------------------------------------------
# stray: `.part` files and files of volumes the API does not have, or `none`.
stray() {
  local known; known=$(states volumes | awk '{print "volume-" $1}')
  {
    find "$D/volumes" "$D/backups" -name '*.part' 2>/dev/null
    find "$D/volumes" -type f -name 'volume-*' -printf '%f\n' | grep -vxF -f <(echo "$known") | sed 's/^/no volume for: /'
    if (( HAVE_BACKUPS )) && [[ -d $D/backups ]]; then   # the posix driver: backups/<container>/<backup id>/
      find "$D/backups" -mindepth 2 -maxdepth 2 -type d -printf '%f\n' |
        grep -vxF -f <(states backups | awk '{print $1}' | grep . || echo none) | sed 's/^/no backup for: /'
    fi
  } | none
  return 0
}
check -m '^none$' "no .part file, no volume file (nor backup directory) without its volume (backup)" stray
# misplaced: the available volumes that have not exactly one file, in their backend's directory; or `none`.
misplaced() {
  local id st host n
  while read -r id st; do
    [[ $st == available ]] || continue
    host=$(curl -sf -H "X-Auth-Token: $TOKEN" "$VAPI/volumes/$id" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["volume"]["os-vol-host-attr:host"])')
    n=$(find "$D/volumes" -type f -name "volume-$id" | wc -l)
    [[ $n == 1 && -f $D/volumes/${host##*#}/volume-$id ]] || echo "$id ($host): $n files"
  done < <(states volumes) | none
  return 0
}
check -m '^none$' "every available volume has exactly one file, in its backend's directory" misplaced
# corrupt: the available volumes whose data is not the image's (qemu-img compare), or `none`.
corrupt() {
  local id st
  while read -r id st; do
    [[ $st == available ]] || continue
    qemu-img compare -q -f raw "$D/crash-image.raw" "$D"/volumes/*/"volume-$id" 2>&1 || echo "$id differs"
  done < <(states volumes) | none
  return 0
}
check -m '^none$' "every available volume holds the image's bytes" corrupt

# --- the cloud still works ----------------------------------------------------------------
if (( HAVE_BACKUPS )); then
  GOOD=$(states backups | awk '$2 == "available" {print $1; exit}')
  if [[ -n $GOOD ]]; then
    check -m '^volume_id=' "volume backup restore of a backup that survived" os volume backup restore "$GOOD" crash-restored -f shell
    RESTORED=$(openstack volume show crash-restored -f value -c id 2>/dev/null)
    check -m '^available$' "the restored volume becomes available" wait_settled "${RESTORED:-none}"
    check "the restored volume holds the image's bytes" \
      qemu-img compare -q -f raw "$D/crash-image.raw" "$D/volumes/"*"/volume-${RESTORED:-none}"
  fi
fi
check -m '^id=' "a new volume from the image after the restart" os volume create --size 1 --image "$IMAGE" crash-after -f shell -c id
check -m '^available$' "the new volume becomes available" wait_settled "$(val id)"
(( HAVE_BACKUPS )) && for id in $(states backups | awk '{print $1}'); do openstack volume backup delete --force "$id" >/dev/null 2>&1; done
for id in $(states volumes | awk '{print $1}'); do openstack volume delete --force "$id" >/dev/null 2>&1; done
left() { { states volumes; (( HAVE_BACKUPS )) && states backups; } | none; return 0; }
deadline=$((SECONDS + 120))
while [[ $(left) != none ]] && (( SECONDS < deadline )); do sleep 1; done
check -m '^none$' "every volume (and backup) can be deleted" left
check -m '^none$' "no volume file is left" bash -c "find '$D/volumes' -type f | grep . || echo none"
(( HAVE_BACKUPS )) && check -m '^none$' "no backup file is left" bash -c "find '$D/backups' -type f | grep . || echo none"
finish
