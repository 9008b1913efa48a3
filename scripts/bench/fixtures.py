"""Resources the benchmarks need, made once over plain HTTP from 16 threads.

  fixtures.py providers PLACEMENT_URL TOKEN COUNT
      COUNT compute-like resource providers `bench-rp-N` (VCPU, MEMORY_MB and DISK_GB
      inventories, a trait on half of them, an aggregate on a quarter, 4 consumers'
      allocations on each); prints the aggregate's id. Providers that exist are kept.
  fixtures.py projects IDENTITY_URL TOKEN COUNT
      projects `bench-project-N` in the default domain until there are COUNT of them.
"""
import http.client
import json
import ssl
import sys
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor


class API:
    def __init__(self, base, token, headers=None):
        self.url = urllib.parse.urlparse(base)
        self.headers = {"X-Auth-Token": token, "Content-Type": "application/json", **(headers or {})}

    def call(self, method, path, body=None, allow=()):
        kind = http.client.HTTPSConnection if self.url.scheme == "https" else http.client.HTTPConnection
        extra = {"context": ssl.create_default_context()} if self.url.scheme == "https" else {}
        conn = kind(self.url.hostname, self.url.port, timeout=60, **extra)
        conn.request(method, self.url.path + path, json.dumps(body) if body is not None else None, self.headers)
        reply = conn.getresponse()
        data = reply.read()
        conn.close()
        if reply.status >= 400 and reply.status not in allow:
            raise SystemExit(f"{method} {path}: {reply.status} {data[:300]!r}")
        return json.loads(data) if data else {}


def provider_id(n):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-rp-{n}.stratus"))


def providers(base, token, count):
    api = API(base, token, {"OpenStack-API-Version": "placement 1.39"})
    aggregate = str(uuid.uuid5(uuid.NAMESPACE_DNS, "bench-aggregate.stratus"))

    def make(n):
        rp = provider_id(n)
        if api.call("GET", f"/resource_providers?uuid={rp}")["resource_providers"]:
            return
        api.call("POST", "/resource_providers", {"name": f"bench-rp-{n}", "uuid": rp}, allow=(409,))
        api.call("PUT", f"/resource_providers/{rp}/inventories", {"resource_provider_generation": 0, "inventories": {
            "VCPU": {"total": 32, "allocation_ratio": 16.0},
            "MEMORY_MB": {"total": 131072, "reserved": 512, "allocation_ratio": 1.5},
            "DISK_GB": {"total": 2000}}})
        generation = 1
        if n % 2 == 0:
            api.call("PUT", f"/resource_providers/{rp}/traits",
                     {"resource_provider_generation": generation, "traits": ["HW_CPU_X86_AVX2"]})
            generation += 1
        if n % 4 == 0:
            api.call("PUT", f"/resource_providers/{rp}/aggregates",
                     {"resource_provider_generation": generation, "aggregates": [aggregate]})
        for i in range(4):
            consumer = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-consumer-{n}-{i}.stratus"))
            api.call("PUT", f"/allocations/{consumer}", {
                "allocations": {rp: {"resources": {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 40}}},
                "project_id": "bench", "user_id": "bench", "consumer_generation": None})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(make, range(count)))
    print(aggregate)


def projects(base, token, count):
    api = API(base, token)
    have = len(api.call("GET", "/v3/projects")["projects"])

    def make(n):
        api.call("POST", "/v3/projects", {"project": {"name": f"bench-project-{n}", "domain_id": "default"}},
                 allow=(409,))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(make, range(have, count)))


if __name__ == "__main__":
    command, base, token, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    {"providers": providers, "projects": projects}[command](base, token, count)
