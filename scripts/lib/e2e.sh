# Helpers shared by the end-to-end scenario scripts (scripts/e2e/*.sh): `check`
# runs one command and counts PASS/FAIL, `val` reads `-f shell` output, `api`
# makes raw requests. Source it after setting DATA; BASE is the identity root.
export OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=stratus
S=${E2E_SUFFIX:-$RANDOM}   # keeps names unique if run twice against one server

PASSED=0 FAILED=0 OUT=

# check [-x] [-m REGEX]... [-n REGEX]... NAME CMD [ARG...]
# Runs CMD; passes if it exits 0 (with -x: non-zero) and its combined output
# matches every -m REGEX and no -n REGEX (grep -E, any line). The output is
# left in $OUT.
check() {
  local expect_fail=0 want=() unwanted=() rc ok=1 p
  while [[ $1 == -[xmn] ]]; do
    case $1 in
      -x) expect_fail=1; shift ;;
      -m) want+=("$2"); shift 2 ;;
      -n) unwanted+=("$2"); shift 2 ;;
    esac
  done
  local name=$1 started=$EPOCHREALTIME; shift
  OUT=$("$@" 2>&1); rc=$?
  local took; took=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  if (( expect_fail == (rc == 0) )); then ok=0; fi
  for p in "${want[@]}"; do grep -qE -- "$p" <<<"$OUT" || ok=0; done
  for p in "${unwanted[@]}"; do grep -qE -- "$p" <<<"$OUT" && ok=0; done
  if (( ok )); then
    PASSED=$((PASSED + 1)); echo "PASS $name (${took}s)"
  else
    FAILED=$((FAILED + 1)); echo "FAIL $name (exit $rc, ${took}s)"
    echo "    \$ $*" | sed -E 's/(Token: )[^ ]+/\1***/g' | cut -c1-300
    sed 's/^/    | /' <<<"$OUT" | head -40
  fi
}

# val KEY: value of KEY in $OUT as printed by `openstack ... -f shell`.
val() { sed -n "s/^$1=\"\(.*\)\"\$/\1/p" <<<"$OUT" | tail -1; }

os() { openstack "$@"; }   # admin, via clouds.yaml

# envauth VAR=VALUE... CMD: run CMD authenticated only by OS_* variables.
envauth() {
  env -u OS_CLOUD -u OS_CLIENT_CONFIG_FILE OS_AUTH_URL="$AUTH_URL" \
    OS_IDENTITY_API_VERSION=3 OS_INTERFACE=public "$@"
}

# api METHOD PATH [BODY [CURL_ARG...]]: raw request (BODY '' for none); prints
# the response body, then a line `HTTP <status>`.
api() {
  local method=$1 path=$2 body=${3-}; shift $(( $# < 3 ? $# : 3 ))
  local args=(-sS -X "$method" -H 'Content-Type: application/json' -w '\nHTTP %{http_code}\n')
  [[ -n $body ]] && args+=(--data-raw "$body")
  curl "${args[@]}" "$@" "${API_BASE:-$BASE}$path"
}

# status SERVER: its API status. wait_status SERVER STATUS: waits up to 30 s for it, then
# prints the status it has.
status() { openstack server show "$1" -f value -c status; }
wait_status() {
  local i; for ((i = 0; i < 60; i++)); do [[ $(status "$1") == "$2" ]] && break; sleep 0.5; done
  status "$1"
}

# finish: the summary line and exit status every scenario script ends with.
finish() {
  echo "e2e: $PASSED passed, $FAILED failed"
  (( FAILED == 0 ))
}
