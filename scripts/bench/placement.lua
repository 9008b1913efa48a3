-- wrk request generator for scripts/bench/placement.sh: GETs with a token and a microversion.
wrk.method = "GET"
wrk.headers["X-Auth-Token"] = os.getenv("BENCH_TOKEN")
wrk.headers["OpenStack-API-Version"] = "placement " .. os.getenv("BENCH_VERSION")
