#!/usr/bin/env bash
# Port create rate and list latency of a running Stratus Network API at scale.
#
#   scripts/bench/network.sh DATA_DIR [PORTS] [CLIENTS]
#
# Creates a network with a /16 subnet, then PORTS ports (default 10000) from CLIENTS
# concurrent clients (default 8), and measures listing (first page, filters, fields) and
# show with wrk. DATA_DIR is the server's --data-dir (clouds.yaml gives credentials and
# the catalog); `openstack`, `curl` and `python3` must be on PATH. Use a release build.
set -euo pipefail

DATA=${1:?usage: network.sh DATA_DIR [PORTS] [CLIENTS]}
COUNT=${2:-10000}
CLIENTS=${3:-8}
export OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=stratus
API=$(openstack endpoint list --service network --interface public -f value -c URL | head -1)
TOKEN=$(openstack token issue -f value -c id)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

openstack quota set --ports -1 --networks -1 --subnets -1 "$(openstack token issue -f value -c project_id)" >/dev/null
NET=$(openstack network create "bench-$RANDOM" -f value -c id)
openstack subnet create --network "$NET" --subnet-range 10.128.0.0/16 "bench-subnet-$RANDOM" >/dev/null
trap 'echo "(network $NET and its ports are left for inspection)"' EXIT

python3 - "$API" "$TOKEN" "$NET" "$COUNT" "$CLIENTS" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
api, token, net, count, clients = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
url = urllib.parse.urlparse(api)
latencies, failures, lock = [], [], threading.Lock()
def worker(n):
    conn = http.client.HTTPConnection(url.hostname, url.port)
    for i in range(n):
        body = {"port": {"network_id": net, "name": f"bench-{i}", "device_owner": "compute:nova" if i % 2 else ""}}
        t0 = time.perf_counter()
        conn.request("POST", "/v2.0/ports", json.dumps(body), {"X-Auth-Token": token, "Content-Type": "application/json"})
        reply = conn.getresponse(); reply.read()
        with lock:
            latencies.append(time.perf_counter() - t0)
            if reply.status != 201: failures.append(reply.status)
start = time.perf_counter()
threads = [threading.Thread(target=worker, args=(count // clients + (1 if k < count % clients else 0),)) for k in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.perf_counter() - start
latencies.sort()
print(f"created {len(latencies) - len(failures)} ports in {elapsed:.1f} s: {len(latencies) / elapsed:.0f}/s with {clients} clients, "
      f"p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
      + (f", {len(failures)} failed ({sorted(set(failures))})" if failures else ""))
PY

SOME=$(curl -sS -H "X-Auth-Token: $TOKEN" "$API/v2.0/ports?network_id=$NET&limit=1&fields=id" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)
IP=$(curl -sS -H "X-Auth-Token: $TOKEN" "$API/v2.0/ports/$SOME" | sed -n 's/.*"ip_address": *"\([^"]*\)".*/\1/p' | head -1)
# shellcheck source=../lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
echo "with $(curl -sS -H "X-Auth-Token: $TOKEN" "$API/v2.0/ports?fields=id" | grep -o '"id"' | wc -l) ports:"
bench "list ports, first page of 100" "/v2.0/ports?limit=100"
bench "list ports, page after a marker (sort by name)" "/v2.0/ports?limit=100&sort_key=name&marker=$SOME"
bench "list ports by device_owner, fields=id (limit 100)" "/v2.0/ports?device_owner=compute:nova&fields=id&limit=100"
bench "list ports by fixed IP" "/v2.0/ports?fixed_ips=ip_address%3D$IP"
bench "show one port" "/v2.0/ports/$SOME"
bench "list networks" "/v2.0/networks"
printf '  %-48s ' "list all ports (one request)"
curl -sS -o /dev/null -w '%{time_total} s\n' -H "X-Auth-Token: $TOKEN" "$API/v2.0/ports"
