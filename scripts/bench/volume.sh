#!/usr/bin/env bash
# Block Storage throughput of a running Stratus:
#  (a) create rate of empty thin volumes: VOLUMES (default 100) `--size 1` creates sent at
#      once from CLIENTS (default 20) threads, timed until every one is available (volumes/s),
#      then their deletion;
#  (b) attach latency, only when the compute driver is QEMU: a 1 GiB volume attached to a
#      running guest, from the request until the volume is in-use (and back on detach);
#      the guest's image is DATA_DIR/guest-image-id (scripts/guest/e2e.sh leaves it) or
#      BENCH_GUEST_IMAGE;
#  (d) ENCRYPTED (BENCH_ENCRYPTED, default 10) volumes of a LUKS type created at once, and one
#      alone: QEMU times PBKDF2 for every LUKS header it writes, so these are CPU-bound;
#  (c) a 1 GiB volume of random data (from a raw image): its creation from the image, its
#      backup and its restore in MB/s, next to `dd ... conv=fdatasync` of 1 GiB on the same
#      filesystem (skipped with a message when the API has no backups).
#
#   scripts/bench/volume.sh DATA_DIR [VOLUMES] [CLIENTS]
#
# DATA_DIR is the server's --data-dir (clouds.yaml gives credentials and the catalog);
# `openstack`, `curl`, `python3` and `qemu-img` must be on PATH. It lifts the admin project's
# volume and backup quotas and deletes what it creates. Use a release build for real numbers.
set -euo pipefail

DATA=${1:?usage: volume.sh DATA_DIR [VOLUMES] [CLIENTS]}
COUNT=${2:-100}
CLIENTS=${3:-20}
ENCRYPTED=${BENCH_ENCRYPTED:-10}
MB=1024
export OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=stratus
VAPI=$(openstack endpoint list --service volumev3 --interface public -f value -c URL | head -1)
IAPI=$(openstack endpoint list --service image --interface public -f value -c URL | head -1)
CAPI=$(openstack endpoint list --service compute --interface public -f value -c URL | head -1)
TOKEN=$(openstack token issue -f value -c id)
PROJECT=$(openstack token issue -f value -c project_id)
WORK=$(mktemp -d "$DATA/bench-volume.XXXXXX")   # same filesystem as the volumes
IMG= SERVER=
cleanup() {
  rm -rf "$WORK"
  [[ -n $IMG ]] && curl -s -X DELETE -H "X-Auth-Token: $TOKEN" "$IAPI/v2/images/$IMG" >/dev/null
  [[ -n $SERVER ]] && openstack server delete --wait "$SERVER" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT
openstack quota set --volumes -1 --gigabytes -1 --snapshots -1 "$PROJECT" >/dev/null
openstack quota set --backups -1 --backup-gigabytes -1 "$PROJECT" >/dev/null 2>&1 || true

# vol PYTHON-STATEMENTS...: runs the statements with `call(method, path, body)` (-> status,
# JSON) against the Block Storage API and `wait(kind, id, states)` (-> state, seconds) at hand.
vol() {
  python3 - "$VAPI" "$TOKEN" "$@" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
api, token, code = sys.argv[1], sys.argv[2], "\n".join(sys.argv[3:])
url = urllib.parse.urlparse(api)
def call(method, path, body=None):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    conn.request(method, url.path + path, json.dumps(body) if body is not None else None,
                 {"X-Auth-Token": token, "Content-Type": "application/json", "OpenStack-API-Version": "volume 3.67"})
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    return reply.status, (json.loads(data) if data else {})
def wait(kind, id, states, timeout=3600):
    start = time.perf_counter()
    while True:
        status, body = call("GET", f"/{kind}s/{id}")
        if status == 404: return "deleted", time.perf_counter() - start
        state = body.get(kind, {}).get("status") if status == 200 else f"HTTP {status}"
        if state in states or (state or "").startswith("error") or time.perf_counter() - start > timeout:
            return state, time.perf_counter() - start
        time.sleep(0.2)
exec(code)
PY
}

# --- (a) create rate of empty thin volumes ------------------------------------------------
echo "(a) $COUNT empty thin volumes (--size 1) created at once from $CLIENTS clients:"
vol "count, clients = $COUNT, $CLIENTS" '
ids, refused, lock = [], [], threading.Lock()
def worker(n, k):
    for i in range(n):
        status, body = call("POST", "/volumes", {"volume": {"name": f"bench-thin-{k}-{i}", "size": 1}})
        with lock:
            (ids.append(body["volume"]["id"]) if status == 202 else refused.append(status))
start = time.perf_counter()
threads = [threading.Thread(target=worker, args=(count // clients + (1 if k < count % clients else 0), k)) for k in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
accepted = time.perf_counter() - start
print(f"  {len(ids)} creates accepted in {accepted:.2f} s ({len(ids) / accepted:.1f}/s)" + (f", {len(refused)} refused {sorted(set(refused))}" if refused else ""))
wanted, states = set(ids), {}
while True:
    status, body = call("GET", "/volumes/detail?limit=1000&name~=bench-thin-")
    states = {v["id"]: v["status"] for v in body.get("volumes", []) if v["id"] in wanted}
    if all(s in ("available", "error") for s in states.values()) and len(states) == len(wanted): break
    if time.perf_counter() - start > 1800: print("  gave up waiting"); break
    time.sleep(0.2)
elapsed = time.perf_counter() - start
available = sum(1 for s in states.values() if s == "available")
print(f"  {available} available, {len(wanted) - available} error after {elapsed:.2f} s: {available / elapsed:.1f} volumes/s end to end")
start = time.perf_counter()
def deleter(part):
    for id in part: call("DELETE", f"/volumes/{id}")
parts = [list(wanted)[k::clients] for k in range(clients)]
threads = [threading.Thread(target=deleter, args=(p,)) for p in parts]
for t in threads: t.start()
for t in threads: t.join()
while True:
    status, body = call("GET", "/volumes?limit=1000")
    if not wanted & {v["id"] for v in body.get("volumes", [])}: break
    if time.perf_counter() - start > 600: print("  gave up waiting for the deletes"); break
    time.sleep(0.2)
elapsed = time.perf_counter() - start
print(f"  deleted in {elapsed:.2f} s ({len(wanted) / elapsed:.1f} volumes/s)")
'

# --- (b) attach latency on QEMU ------------------------------------------------------------
echo "(b) attach latency:"
HV=$(openstack hypervisor list -f value -c 'Hypervisor Type' | sort -u | paste -sd, -)
GUEST_IMAGE=${BENCH_GUEST_IMAGE:-$(cat "$DATA/guest-image-id" 2>/dev/null || true)}
if [[ $HV != *QEMU* ]]; then
  echo "  skipped: the compute driver is not QEMU (hypervisor types: ${HV:-none})"
elif [[ -z $GUEST_IMAGE ]]; then
  echo "  skipped: no guest image (DATA_DIR/guest-image-id or BENCH_GUEST_IMAGE)"
else
  NET=$(openstack network show private -f value -c id)
  SERVER=$(openstack server create --image "$GUEST_IMAGE" --flavor m1.nano --network "$NET" --wait bench-attach -f value -c id)
  vol "server, capi, token = '$SERVER', '$CAPI', '$TOKEN'" '
curl = urllib.parse.urlparse(capi)
def compute(method, path, body=None):
    conn = http.client.HTTPConnection(curl.hostname, curl.port, timeout=600)
    conn.request(method, curl.path + path, json.dumps(body) if body is not None else None,
                 {"X-Auth-Token": token, "Content-Type": "application/json", "OpenStack-API-Version": "compute 2.79"})
    reply = conn.getresponse(); data = reply.read(); conn.close()
    return reply.status, data
status, body = call("POST", "/volumes", {"volume": {"name": "bench-attach", "size": 1}})
volume = body["volume"]["id"]
wait("volume", volume, ("available",))
for round in range(3):
    start = time.perf_counter()
    status, data = compute("POST", f"/servers/{server}/os-volume_attachments", {"volumeAttachment": {"volumeId": volume}})
    if status != 200: print(f"  attach refused: {status} {data[:200]}"); break
    state, _ = wait("volume", volume, ("in-use",))
    attached = time.perf_counter() - start
    start = time.perf_counter()
    compute("DELETE", f"/servers/{server}/os-volume_attachments/{volume}")
    state2, _ = wait("volume", volume, ("available",))
    print(f"  round {round + 1}: attach request to {state}: {attached * 1000:.0f} ms; detach request to {state2}: {(time.perf_counter() - start) * 1000:.0f} ms")
call("DELETE", f"/volumes/{volume}")
'
  openstack server delete --wait "$SERVER"; SERVER=
fi

# --- (c) a 1 GiB volume of random data: from an image, backup, restore ---------------------
rate() { awk -v mb="$MB" -v s="$1" 'BEGIN { printf "%8.1f MB/s  (%.2f s)", mb / s, s }'; }
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'; }
echo "(c) a ${MB} MiB volume of random data, on $(df -h --output=source,fstype "$DATA" | tail -1 | tr -s ' ')"
printf '  %-50s %s\n' "dd if=/dev/zero bs=1M count=$MB conv=fdatasync" \
  "$(rate "$(timed dd if=/dev/zero of="$WORK/dd.out" bs=1M count="$MB" conv=fdatasync)")"
rm -f "$WORK/dd.out"
head -c "${MB}M" /dev/urandom >"$WORK/random.raw"
IMG=$(curl -sS -X POST -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"bench-volume-random","disk_format":"raw","container_format":"bare"}' "$IAPI/v2/images" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
printf '  %-50s %s\n' "image upload (PUT /v2/images/ID/file)" "$(rate "$(timed curl -sS -f -X PUT -H "X-Auth-Token: $TOKEN" \
  -H 'Content-Type: application/octet-stream' -T "$WORK/random.raw" "$IAPI/v2/images/$IMG/file")")"
vol "image, mb, data, source = '$IMG', $MB, '$DATA', '$WORK/random.raw'" '
import glob, subprocess
def rate(seconds): return f"{mb / seconds:8.1f} MB/s  ({seconds:.2f} s)"
def show(label, value): print(f"  {label:50} {value}")
def same(volume):
    files = glob.glob(f"{data}/volumes/*/volume-{volume}")
    if len(files) != 1: return f"{len(files)} files"
    return "identical" if subprocess.run(["qemu-img", "compare", "-q", "-f", "raw", source, files[0]]).returncode == 0 else "DIFFERENT"
status, body = call("POST", "/volumes", {"volume": {"name": "bench-random", "size": mb // 1024, "imageRef": image}})
volume = body["volume"]["id"]
state, seconds = wait("volume", volume, ("available",))
show(f"volume create --image ({state})", f"{rate(seconds)}, data {same(volume)}")
status, body = call("GET", "/backups")
if status != 200:
    print(f"  backup and restore skipped: GET /backups answers {status} (backups not implemented)")
else:
    status, body = call("POST", "/backups", {"backup": {"name": "bench-backup", "volume_id": volume}})
    if status != 202:
        print(f"  backup create refused: {status} {body}")
    else:
        backup = body["backup"]["id"]
        state, seconds = wait("backup", backup, ("available",))
        show(f"backup create ({state})", rate(seconds))
        status, body = call("POST", "/backups", {"backup": {"name": "bench-backup-incr", "volume_id": volume, "incremental": True}})
        if status == 202:
            incremental = body["backup"]["id"]
            state, seconds = wait("backup", incremental, ("available",))
            show(f"incremental backup, nothing changed ({state})", rate(seconds))
            call("DELETE", f"/backups/{incremental}"); wait("backup", incremental, ())
        start = time.perf_counter()
        status, body = call("POST", f"/backups/{backup}/restore", {"restore": {"name": "bench-restored"}})
        if status != 202:
            print(f"  restore refused: {status} {body}")
        else:
            restored = body["restore"]["volume_id"]
            time.sleep(0.2)
            state, _ = wait("volume", restored, ("available",))
            seconds = time.perf_counter() - start
            show(f"backup restore into a new volume ({state})", f"{rate(seconds)}, data {same(restored)}")
            call("DELETE", f"/volumes/{restored}"); wait("volume", restored, ())
        call("DELETE", f"/backups/{backup}"); wait("backup", backup, ())
call("DELETE", f"/volumes/{volume}"); wait("volume", volume, ())
'

# --- (d) encrypted volumes -----------------------------------------------------------------
echo "(d) $ENCRYPTED encrypted (LUKS) volumes (--size 1) created at once, then one alone:"
vol "count = $ENCRYPTED" '
status, body = call("POST", "/types", {"volume_type": {"name": f"bench-luks-{time.time()}"}})
vtype = body["volume_type"]["id"]
call("POST", f"/types/{vtype}/encryption", {"encryption": {
    "provider": "luks", "cipher": "aes-xts-plain64", "key_size": 256, "control_location": "front-end"}})
def create(name):
    status, body = call("POST", "/volumes", {"volume": {"name": name, "size": 1, "volume_type": vtype}})
    return body["volume"]["id"]
start = time.perf_counter()
ids = [create(f"bench-luks-{i}") for i in range(count)]
states = [wait("volume", id, ("available",))[0] for id in ids]
elapsed = time.perf_counter() - start
available = states.count("available")
print(f"  {available} available after {elapsed:.2f} s: {count / elapsed:.2f} volumes/s")
start = time.perf_counter()
one = create("bench-luks-one")
state, _ = wait("volume", one, ("available",))
print(f"  one alone: {state} after {time.perf_counter() - start:.2f} s")
for id in ids + [one]: call("DELETE", f"/volumes/{id}")
for id in ids + [one]: wait("volume", id, ("deleted",))
call("DELETE", f"/types/{vtype}")
'
