#!/usr/bin/env bash
# Boot burst and server listing of a running Stratus Compute at scale.
#
#   scripts/bench/compute.sh DATA_DIR [SERVERS] [CLIENTS]
#
# Run it against `stratus serve` started with simulated hosts, e.g.
#   STRATUS_COMPUTE_FAKE_HOSTS=50 stratus serve --data-dir DATA_DIR
# It lifts the admin project's quotas, makes a network big enough, requests SERVERS
# servers (default 1000) at once from CLIENTS clients (default 50), waits until every
# one is ACTIVE or ERROR, checks Placement (usage of every provider equals the flavors
# of its servers and stays within capacity), then measures `server list --long`
# (GET /servers/detail, pages of 1000) with wrk and the whole CLI command. Use a release
# build. Run it again with more SERVERS to grow the cloud, e.g. to 10,000. With
# BENCH_LISTING=0 it stops after the boot burst and the Placement check.
set -euo pipefail

DATA=${1:?usage: compute.sh DATA_DIR [SERVERS] [CLIENTS]}
COUNT=${2:-1000}
CLIENTS=${3:-50}
export OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=stratus
API=$(openstack endpoint list --service compute --interface public -f value -c URL | head -1)
PLACEMENT=$(openstack endpoint list --service placement --interface public -f value -c URL | head -1)
TOKEN=$(openstack token issue -f value -c id)
PROJECT=$(openstack token issue -f value -c project_id)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

openstack quota set --instances -1 --cores -1 --ram -1 "$PROJECT" >/dev/null
openstack quota set --ports -1 "$PROJECT" >/dev/null
NET=$(openstack network show bench-net -f value -c id 2>/dev/null || true)
if [[ -z $NET ]]; then
  NET=$(openstack network create bench-net -f value -c id)
  openstack subnet create --network "$NET" --subnet-range 10.200.0.0/16 bench-subnet >/dev/null
fi
IMAGE=$(openstack image show bench-image -f value -c id 2>/dev/null || true)
if [[ -z $IMAGE ]]; then
  head -c 65536 /dev/zero >"$DATA/bench-image.raw"
  IMAGE=$(openstack image create --disk-format raw --container-format bare --file "$DATA/bench-image.raw" bench-image -f value -c id)
fi

python3 - "$API" "$PLACEMENT" "$TOKEN" "$NET" "$IMAGE" "$COUNT" "$CLIENTS" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
api, placement, token, net, image, count, clients = sys.argv[1:6] + [int(sys.argv[6]), int(sys.argv[7])]
head = {"X-Auth-Token": token, "Content-Type": "application/json"}
def call(base, method, path, body=None, extra=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    conn.request(method, url.path + path, json.dumps(body) if body is not None else None, {**head, **(extra or {})})
    reply = conn.getresponse()
    data = reply.read()
    return reply.status, json.loads(data) if data else {}
ids, failures, lock = [], [], threading.Lock()
def worker(n, k):
    for i in range(n):
        status, body = call(api, "POST", "/servers", {"server": {
            "name": f"bench-{k}-{i}", "imageRef": image, "flavorRef": "42", "networks": [{"uuid": net}]}})
        with lock:
            (ids.append(body["server"]["id"]) if status == 202 else failures.append(status))
start = time.perf_counter()
threads = [threading.Thread(target=worker, args=(count // clients + (1 if k < count % clients else 0), k)) for k in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
accepted = time.perf_counter() - start
print(f"{len(ids)} boots accepted in {accepted:.1f} s ({len(ids) / accepted:.0f}/s)" + (f", {len(failures)} refused {sorted(set(failures))}" if failures else ""))
wanted = set(ids)
def every_server():
    servers, marker = [], None
    while True:
        _, body = call(api, "GET", "/servers/detail?limit=1000" + (f"&marker={marker}" if marker else ""))
        page = body.get("servers", [])
        servers += page
        if len(page) < 1000: return servers
        marker = page[-1]["id"]
while True:
    states = {s["id"]: s["status"] for s in every_server() if s["id"] in wanted}
    done = sum(1 for s in states.values() if s in ("ACTIVE", "ERROR"))
    if done == len(wanted): break
    if time.perf_counter() - start > 1800: print("gave up waiting"); break
    time.sleep(2)
elapsed = time.perf_counter() - start
active = sum(1 for s in states.values() if s == "ACTIVE")
print(f"{active} ACTIVE, {len(wanted) - active} ERROR after {elapsed:.1f} s ({len(wanted) / elapsed:.1f} servers/s end to end)")
pv = {"OpenStack-API-Version": "placement 1.39"}
_, rps = call(placement, "GET", "/resource_providers", extra=pv)
total, over = {}, 0
for rp in rps["resource_providers"]:
    _, usages = call(placement, "GET", f"/resource_providers/{rp['uuid']}/usages", extra=pv)
    _, inventory = call(placement, "GET", f"/resource_providers/{rp['uuid']}/inventories", extra=pv)
    for rc, used in usages["usages"].items():
        total[rc] = total.get(rc, 0) + used
        inv = inventory["inventories"].get(rc)
        if inv and used > (inv["total"] - inv["reserved"]) * inv["allocation_ratio"]: over += 1
live = [s for s in every_server() if s["status"] == "ACTIVE"]
expect = {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
flavors = {}
for s in live:
    fid = s["flavor"]["id"]
    if fid not in flavors: flavors[fid] = call(api, "GET", f"/flavors/{fid}")[1]["flavor"]
    f = flavors[fid]
    expect["VCPU"] += f["vcpus"]; expect["MEMORY_MB"] += f["ram"]; expect["DISK_GB"] += f["disk"]
print(f"placement usage {total} for {len(live)} active servers (expected {expect}): {'EQUAL' if all(total.get(k, 0) == v for k, v in expect.items()) else 'DIFFERENT'}; "
      f"{over} provider classes over capacity over {len(rps['resource_providers'])} providers")
PY

[[ ${BENCH_LISTING:-1} == 0 ]] && exit 0
# shellcheck source=../lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
echo "with $(openstack server list --all-projects -f value -c ID | wc -l) servers:"
bench "server list --long (GET /servers/detail, 1000)" "/servers/detail?limit=1000"
bench "server list (GET /servers, 1000)" "/servers?limit=1000"
bench "server show" "/servers/$(openstack server list --limit 1 -f value -c ID)"
# Every page of /servers/detail in turn, as the CLI fetches them, timed at the client.
python3 - "$API" "$TOKEN" <<'PY'
import http.client, json, sys, time, urllib.parse
api, token = sys.argv[1:3]
url = urllib.parse.urlparse(api)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
start, marker, total, pages = time.perf_counter(), None, 0, 0
while True:
    conn.request("GET", url.path + "/servers/detail?limit=1000" + (f"&marker={marker}" if marker else ""), headers={"X-Auth-Token": token})
    page = json.loads(conn.getresponse().read())["servers"]
    total, pages = total + len(page), pages + 1
    if len(page) < 1000: break
    marker = page[-1]["id"]
print(f"  {'every page of /servers/detail (1000 each)':<48} {total} servers in {pages} pages, {time.perf_counter() - start:.2f} s")
PY
# The whole CLI command; most of its time is the client's own (Python objects and output).
for _ in 1 2 3; do
  start=$(date +%s.%N)
  rows=$(openstack server list --long -f value -c ID | wc -l)
  printf '  %-48s %s rows in %.2f s\n' "openstack server list --long (the CLI, all pages)" "$rows" "$(awk "BEGIN {print $(date +%s.%N) - $start}")"
done
