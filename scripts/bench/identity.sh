#!/usr/bin/env bash
# Measures Identity hot paths with wrk against any Keystone-compatible cloud:
#   token validation (GET /v3/auth/tokens), token issue with the password method,
#   and token issue with the token method. Prints requests/s and p50/p99 latency.
#
# Usage: scripts/bench/identity.sh AUTH_URL USERNAME PASSWORD [PROJECT] [DURATION] [CONNECTIONS]
#   AUTH_URL like http://127.0.0.1:5000/v3. Loopback targets only.
set -euo pipefail
auth_url=${1:?auth url}; user=${2:?username}; password=${3:?password}; project=${4:-admin}
duration=${5:-10s}; connections=${6:-32}
here=$(cd "$(dirname "$0")" && pwd)

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

password_body=$(printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"id":"default"},"password":"%s"}}},"scope":{"project":{"name":"%s","domain":{"id":"default"}}}}}' "$user" "$password" "$project")
token=$(curl -sf -D - -o /dev/null -H 'Content-Type: application/json' -d "$password_body" "$auth_url/auth/tokens" \
  | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r')
[ -n "$token" ] || { echo "could not get a token from $auth_url" >&2; exit 1; }
token_body=$(printf '{"auth":{"identity":{"methods":["token"],"token":{"id":"%s"}},"scope":{"project":{"name":"%s","domain":{"id":"default"}}}}}' "$token" "$project")

run() {  # name method body-or-empty
  local name=$1 method=$2 body=$3
  printf '%-22s ' "$name"
  BENCH_METHOD=$method BENCH_BODY=$body BENCH_TOKEN=$token \
    wrk -t2 -c"$connections" -d"$duration" --latency -s "$here/identity.lua" "$auth_url/auth/tokens" \
    | awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
           END {printf "%10s req/s   p50 %-9s p99 %-9s %s\n", rps, p50, p99, (bad ? "non-2xx: " bad : "")}'
}

echo "target: $auth_url  duration: $duration  connections: $connections"
run "validate token" GET ""
run "issue (password)" POST "$password_body"
run "issue (token)" POST "$token_body"
