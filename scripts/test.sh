#!/usr/bin/env bash
# Stratus's whole test suite, for developers and CI alike:
#
#   scripts/test.sh
#
#  1. swift build, swift test (XCTest and Swift Testing results are counted)
#  2. the Python venv with the pinned OpenStack tools (cached: scripts/venv.sh)
#  3. `stratus serve` on a free loopback port with a fresh data dir
#  4. CLI scenarios (scripts/e2e/*.sh), the real clients users run (scripts/clients/*.sh:
#     Horizon, Ansible's openstack.cloud, openstacksdk's cloud layer, the legacy CLIs),
#     then the tempest ratchet (conformance/), then a grep of the server's debug log (and the
#     scenarios' own clouds' logs) for secrets (scripts/checks/log-secrets.py)
#  5. a second cloud with real guests (QEMU driver, Linux dataplane): the guest scenario
#     (scripts/guest/e2e.sh) and tempest's SSH tests (conformance/guest-tests.txt)
#
# The last line is `N passed, N failed`; the exit status is 1 if anything failed.
# STRATUS_TEST_SKIP="swift-build swift-test postgres e2e clients conformance guest" leaves steps out
# (for local loops; skipping swift-build uses the existing .build/debug/stratus).
# STRATUS_BIN runs another server binary than .build/debug/stratus.
# Every test cloud serves HTTPS with a CA of its own (`stratus serve --tls`), so the clients,
# Tempest and the guests' clouds are checked over TLS; STRATUS_TLS=0 runs them on plain HTTP.
# Logs go to a temp dir printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=lib/serve.sh
source scripts/lib/serve.sh
[[ -d /opt/swift/usr/bin ]] && PATH=/opt/swift/usr/bin:$PATH

export STRATUS_TLS=${STRATUS_TLS-1}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/stratus-test.XXXXXX")
PASSED=0 FAILED=0 SUMMARY=() SERVER_PID= DATA= GUEST_PID= GUEST_DATA=

# record STEP PASSED FAILED [NOTE]
record() {
  PASSED=$((PASSED + $2)) FAILED=$((FAILED + $3))
  SUMMARY+=("$(printf '  %-14s %4d ok %4d failing  %s' "$1" "$2" "$3" "${4-}")")
}
skipped() { [[ " ${STRATUS_TEST_SKIP-} " == *" $1 "* ]] && record "$1" 0 0 skipped; }
banner() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

# run_counted STEP CMD...: run CMD (output to console and log) and record the
# counts of its last `...: N passed, N failed` line; none means 1 failure.
run_counted() {
  local step=$1; shift
  "$@" 2>&1 | tee "$LOGS/$step.log"
  count_result "$step"
}

# count_result STEP: record the counts of the last result line of $LOGS/STEP.log.
count_result() {
  local step=$1 line
  line=$(grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed$' "$LOGS/$step.log" | tail -1)
  if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    record "$step" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  else
    record "$step" 0 1 "no result line (see $LOGS/$step.log)"
  fi
}

swift_steps() {
  if ! skipped swift-build; then
    banner "swift build"
    # Block Storage compresses backups with the system's zlib (its header comes with zlib1g-dev).
    if [[ ! -f /usr/include/zlib.h ]] && ! apt_install "$LOGS/swift-build-install.log" zlib1g-dev; then
      record swift-build 0 1 "could not install zlib1g-dev"; return 1
    fi
    if ! swift build 2>&1 | tee "$LOGS/swift-build.log"; then
      record swift-build 0 1; return 1
    fi
    record swift-build 1 0
  fi
  skipped swift-test && return 0
  banner "swift test"
  # Block Storage's tests make real qcow2 volumes.
  if ! install_tools "$LOGS/swift-test-install.log" qemu-img:qemu-utils; then
    record swift-test 0 1 "could not install qemu-img"; return 1
  fi
  swift test 2>&1 | tee "$LOGS/swift-test.log"
  count_swift_tests swift-test "${PIPESTATUS[0]}"
  postgres_tests
}

# count_swift_tests STEP RC: record the XCTest / Swift Testing results in $LOGS/STEP.log.
count_swift_tests() {
  local step=$1 rc=$2 clean=$LOGS/$1.clean ok bad
  sed -E 's/\x1b\[[0-9;]*m//g' "$LOGS/$step.log" >"$clean"
  # XCTest: Test Case 'X.testY' passed (0.001 seconds).
  # Swift Testing: ✔ Test foo() passed after 0.001 seconds.
  ok=$(grep -E "^Test Case '.*' passed|^✔ Test .* passed after" "$clean" | grep -vc '^✔ Test run with')
  bad=$(grep -E "^Test Case '.*' failed|^✘ Test .* failed after" "$clean" | grep -vc '^✘ Test run with')
  (( rc != 0 && bad == 0 )) && bad=1
  (( bad > 0 )) && grep -E "^Test Case '.*' failed|^✘ Test .* failed after" "$clean" | grep -v '^✘ Test run with'
  record "$step" "$ok" "$bad" "$([[ $rc != 0 ]] && echo "swift test exited $rc")"
}

# The identity tests again, each test cloud on a fresh PostgreSQL database
# (installs and starts a local PostgreSQL server when there is none).
postgres_tests() {
  skipped postgres && return 0
  banner "swift test on PostgreSQL"
  if ! command -v pg_ctlcluster >/dev/null; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >"$LOGS/postgres-install.log" 2>&1 \
      || { tail -20 "$LOGS/postgres-install.log"; record postgres 0 1 "could not install PostgreSQL"; return; }
  fi
  local version; version=$(ls /etc/postgresql | sort -n | tail -1)
  pg_ctlcluster "$version" main start 2>/dev/null || pg_ctlcluster "$version" main status >/dev/null \
    || { record postgres 0 1 "could not start PostgreSQL $version"; return; }
  local sql; sql=$(mktemp "${TMPDIR:-/tmp}/stratus-role.XXXXXX.sql"); chmod 644 "$sql"
  cat >"$sql" <<'SQL'
DO $$ BEGIN CREATE ROLE stratus_test LOGIN CREATEDB PASSWORD 'stratus_test';
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
SQL
  su postgres -c "psql -q -f $sql" || { rm -f "$sql"; record postgres 0 1 "could not create the test role"; return; }
  rm -f "$sql"
  STRATUS_TEST_POSTGRES_URL=postgresql://stratus_test:stratus_test@127.0.0.1:5432/postgres \
    swift test --skip-build --filter 'IdentityTests|ImageTests|NetworkTests|PlacementTests|ComputeTests|BlockStorageTests|ObjectStorageTests|RecordTableTests' 2>&1 | tee "$LOGS/postgres.log"
  count_swift_tests postgres "${PIPESTATUS[0]}"
}

start_server() {
  banner "start stratus serve"
  DATA=$(mktemp -d "${TMPDIR:-/tmp}/stratus-data.XXXXXX")
  # Keystone-style account lockout and password history, as conformance/tempest_conf.py expects.
  export STRATUS_SECURITY_COMPLIANCE_LOCKOUT_FAILURE_ATTEMPTS=3 STRATUS_SECURITY_COMPLIANCE_LOCKOUT_DURATION=5 \
    STRATUS_SECURITY_COMPLIANCE_UNIQUE_LAST_PASSWORD_COUNT=2
  # Two weighted file stores (multi-store import, copy-image, store weights), an http store
  # with locations shown and managed, and web-download from the local HTTP server below.
  # Tempest's image tests lie about image content (random bytes called qcow2 or vhd), which
  # upstream's gate can only skip: here a format mismatch is allowed (unsafe images are still
  # refused); scripts/e2e/image-formats.sh checks the default on a cloud of its own.
  export STRATUS_IMAGE_ENABLED_BACKENDS=fast:file,slow:file,web:http STRATUS_IMAGE_STORE_WEIGHTS=fast:100,slow:50 \
    STRATUS_IMAGE_SHOW_MULTIPLE_LOCATIONS=true STRATUS_IMAGE_WEB_DOWNLOAD_ALLOWED_PORTS= \
    STRATUS_IMAGE_REQUIRE_IMAGE_FORMAT_MATCH=false
  # Two simulated compute hosts, so migrations, evacuations and anti-affinity have somewhere to go.
  # Two volume backends (file driver), so tempest's multi-backend tests have two to choose from.
  serve_stratus "$DATA" "$LOGS/server.log" STRATUS_COMPUTE_FAKE_HOSTS=2 STRATUS_NETWORK_DATAPLANE=noop \
    STRATUS_DEFAULT_LOG_LEVEL=debug \
    STRATUS_BLOCK_STORAGE_ENABLED_BACKENDS=file,file2; local rc=$?
  SERVER_PID=$STRATUS_PID
  if (( rc != 0 )); then record server-start 0 1; return 1; fi
  HTTP_PORT=$(free_port)
  export METADATA_URL=http://127.0.0.1:$METADATA_PORT
  echo "ready on $URL (data dir $DATA)"
  record server-start 1 0
}

stop_server() { stop_stratus "$SERVER_PID" && SERVER_PID=; }

# What tempest's image tests reach besides the server: a web server holding an image for
# web-download, and a second catalog entry (type image_remote) for the "remote" import
# tests, pointing at the same Image API as a second Glance worker would.
conformance_fixtures() {
  mkdir -p "$DATA/http"
  head -c 65536 /dev/urandom >"$DATA/http/cirros.qcow2"
  (cd "$DATA/http" && exec "$PY" -m http.server "$HTTP_PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
  HTTP_PID=$!
  OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=stratus openstack service create --name glance-remote image_remote >/dev/null &&
    OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml OS_CLOUD=stratus openstack endpoint create --region RegionOne \
      image_remote public "$SCHEME://127.0.0.1:$IMAGE_PORT" >/dev/null
}

cleanup() {
  [[ -n ${HTTP_PID-} ]] && kill "$HTTP_PID" 2>/dev/null
  stop_server; [[ -n $DATA ]] && rm -rf "$DATA"
  stop_guest_cloud
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The scenario scripts (scripts/e2e/*.sh, scripts/clients/*.sh) against the shared cloud,
# STRATUS_TEST_JOBS (2) at a time: each makes its own uniquely named resources, and most of
# their time is the CLI's start-up, so two keep both cores busy. The slowest start first;
# each one's log is shown whole, in name order, once all have ended.
SLOWEST_SCENARIOS="e2e/compute-lifecycle clients/horizon e2e/volume e2e/identity e2e/compute clients/ansible"

scenario_steps() {
  local scripts=() ordered=() name script
  skipped e2e || scripts+=(scripts/e2e/*.sh)
  skipped clients || scripts+=(scripts/clients/*.sh)
  (( ${#scripts[@]} )) || return 0
  for name in $SLOWEST_SCENARIOS; do
    [[ " ${scripts[*]} " == *" scripts/$name.sh "* ]] && ordered+=("scripts/$name.sh")
  done
  for script in "${scripts[@]}"; do
    [[ " ${ordered[*]} " == *" $script "* ]] || ordered+=("$script")
  done
  banner "scenarios (e2e and clients, ${STRATUS_TEST_JOBS:-2} at a time)"
  export LOGS DATA URL ADMIN_PASSWORD
  export -f scenario_step_name run_scenario
  printf '%s\n' "${ordered[@]}" | xargs -P "${STRATUS_TEST_JOBS:-2}" -I{} bash -c 'run_scenario "$1"' _ {}
  for script in "${scripts[@]}"; do
    name=$(scenario_step_name "$script")
    banner "$script (started $(cat "$LOGS/$name.started"), took $(cat "$LOGS/$name.took")s)"
    cat "$LOGS/$name.log"
    count_result "$name"
  done
}

# scenario_step_name SCRIPT: e2e-identity for scripts/e2e/identity.sh, clients-sdk for ...
scenario_step_name() { local dir=${1%/*}; echo "${dir##*/}-$(basename "$1" .sh)"; }

# run_scenario SCRIPT: runs it against $DATA's cloud, its output to $LOGS/STEP.log.
run_scenario() {
  local name; name=$(scenario_step_name "$1")
  date -u +%H:%M:%S >"$LOGS/$name.started"
  local started=$SECONDS
  env URL="$URL" ADMIN_PASSWORD="$ADMIN_PASSWORD" "$1" "$DATA" >"$LOGS/$name.log" 2>&1
  echo $((SECONDS - started)) >"$LOGS/$name.took"
}

server_steps() {
  banner "python venv"
  if ! VENV=$(scripts/venv.sh); then record venv 0 1; return; fi
  record venv 1 0
  PY=$VENV/bin/python PATH=$VENV/bin:$PATH
  start_server || return

  scenario_steps
  if ! skipped conformance; then
    banner "conformance (tempest)"
    conformance_fixtures
    STRATUS_ADMIN_PASSWORD=$ADMIN_PASSWORD TEMPEST_SERVICES=glance,neutron,nova,cinder,swift TEMPEST_CONF_SET="\
volume.backend_names=file,file2 volume-feature-enabled.multi_backend=true \
image.http_qcow2_image=http://127.0.0.1:$HTTP_PORT/cirros.qcow2 image.http_image=http://127.0.0.1:$HTTP_PORT/cirros.qcow2 \
image.alternate_image_endpoint=image_remote image.alternate_image_endpoint_type=publicURL \
image-feature-enabled.store_weight_enabled=true image-feature-enabled.manage_locations=true" \
      run_counted conformance "$PY" conformance/run.py --uri "$URL/v3"
  fi
  # The server logged at debug level through all of the above; none of it may be a secret.
  banner "log secrets"
  local logs=("$LOGS/server.log") log
  for log in "$DATA"/*-server.log; do [[ -f $log ]] && logs+=("$log"); done
  run_counted log-secrets "$PY" scripts/checks/log-secrets.py "$DATA" "${logs[@]}"

  banner "stop server"
  if kill -0 "$SERVER_PID" 2>/dev/null && stop_server; then
    record server-stop 1 0
  else
    echo "server log tail:"; tail -30 "$LOGS/server.log"
    record server-stop 0 1 "server died during the tests or ignored SIGTERM"
  fi
  guest_steps
}

# install_tools LOG TOOL:PACKAGE...: installs the Debian packages of the tools not on PATH.
install_tools() {
  local log=$1 missing=() tool; shift
  for tool in "$@"; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
  done
  (( ${#missing[@]} == 0 )) && return 0
  apt_install "$log" "${missing[@]}"
}

# apt_install LOG PACKAGE...: installs Debian packages, quietly (the log's tail on failure).
apt_install() {
  local log=$1; shift
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } \
    >"$log" 2>&1 || { tail -20 "$log"; return 1; }
}

# What the guest cloud needs on the machine (Debian packages, installed once).
install_guest_packages() {
  install_tools "$LOGS/guest-install.log" qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils \
    genisoimage:genisoimage iptables-restore:iptables ip:iproute2 ssh:openssh-client
}

# A second cloud whose servers are QEMU guests wired by the Linux dataplane; the guest
# scenario and tempest's SSH tests run against it.
guest_steps() {
  skipped guest && return 0
  banner "guest cloud (QEMU driver, Linux dataplane)"
  if ! install_guest_packages; then record guest-setup 0 1 "could not install QEMU and the network tools"; return; fi
  GUEST_DATA=$(mktemp -d "${TMPDIR:-/tmp}/stratus-guest.XXXXXX")
  if ! scripts/guest/build.sh "$GUEST_DATA/image" >"$LOGS/guest-build.log" 2>&1; then
    tail -20 "$LOGS/guest-build.log"; record guest-setup 0 1 "the guest image did not build"; return
  fi
  if ! serve_stratus "$GUEST_DATA/cloud" "$LOGS/guest-server.log" STRATUS_COMPUTE_DRIVER=qemu STRATUS_COMPUTE_VIRT_TYPE=qemu STRATUS_NETWORK_DATAPLANE=linux \
    STRATUS_NETWORK_REPORT_INTERVAL=2 STRATUS_BLOCK_STORAGE_ENABLED_BACKENDS=file,file2; then
    record guest-setup 0 1 "the guest cloud did not start"; return
  fi
  GUEST_PID=$STRATUS_PID
  record guest-setup 1 0
  run_counted e2e-guest scripts/guest/e2e.sh "$GUEST_DATA/cloud" "$GUEST_DATA/image"
  if ! skipped conformance && [[ -s $GUEST_DATA/cloud/guest-image-id ]]; then
    local image; image=$(cat "$GUEST_DATA/cloud/guest-image-id")
    banner "conformance (tempest SSH tests on the guest cloud)"
    CONFORMANCE_WORKDIR=conformance/.work-guest STRATUS_ADMIN_PASSWORD=$ADMIN_PASSWORD TEMPEST_SERVICES=glance,neutron,nova TEMPEST_CONF_SET="\
compute.image_ref=$image compute.image_ref_alt=$image compute.min_compute_nodes=1 compute.build_timeout=180 \
validation.run_validation=true validation.connect_method=floating validation.auth_method=keypair \
validation.image_ssh_user=cirros validation.image_ssh_password=gocubsgo validation.ssh_timeout=180" \
      run_counted conformance-guest "$PY" conformance/run.py --guest --uri "$URL/v3"
  fi
  stop_guest_cloud
}

# Stops the guest cloud and its guests, and removes what they left on the machine.
stop_guest_cloud() {
  [[ -n $GUEST_PID ]] && stop_stratus "$GUEST_PID"
  GUEST_PID=
  [[ -n $GUEST_DATA ]] || return 0
  pkill -f -- "-pidfile $GUEST_DATA/" 2>/dev/null
  local ns br
  for ns in $(ip netns list 2>/dev/null | awk '/^qrouter-/ {print $1}'); do ip netns del "$ns"; done
  for br in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '$2 ~ /^brq/ {print $2}'); do ip link del "$br"; done
  for tap in $(ip tuntap list 2>/dev/null | awk -F: '/^tap/ {print $1}'); do ip link del "$tap"; done
  # the security group chains (scripts/guest's cloud filters its guests' taps)
  local rule chain chains
  iptables -S FORWARD 2>/dev/null | grep -- '-j stratus-sg-chain' | sed 's/^-A /-D /' | while read -r rule; do iptables $rule; done
  chains=$(iptables -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^stratus-/ {print $2}')
  for chain in $chains; do iptables -F "$chain"; done
  for chain in $chains; do iptables -X "$chain"; done
  rm -rf "$GUEST_DATA"; GUEST_DATA=
}

START=$SECONDS
swift_steps && server_steps
banner "summary ($(( (SECONDS - START) / 60 ))m$(( (SECONDS - START) % 60 ))s, logs in $LOGS)"
printf '%s\n' "${SUMMARY[@]}"
echo "$PASSED passed, $FAILED failed"
(( FAILED == 0 ))
