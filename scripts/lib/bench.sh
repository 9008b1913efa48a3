# Helpers shared by the benchmark scripts (scripts/bench/*.sh). Needs API and TOKEN.

# bench NAME PATH: wrk for 10 s on 16 connections; prints req/s and latency percentiles.
bench() {
  printf '  %-48s ' "$1"
  wrk -t2 -c16 -d10s --latency -H "X-Auth-Token: $TOKEN" "$API$2" |
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
         END {printf "%10s req/s   p50 %-9s p99 %-9s %s\n", rps, p50, p99, (bad ? "non-2xx: " bad : "")}'
}
