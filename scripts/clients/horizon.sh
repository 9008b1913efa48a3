#!/usr/bin/env bash
# Real Horizon (the OpenStack dashboard, PyPI horizon, pinned in scripts/requirements-horizon.txt)
# against a running Stratus cloud.
#
#   URL=http://127.0.0.1:PORT ADMIN_PASSWORD=... scripts/clients/horizon.sh DATA_DIR
#
# DATA_DIR/clouds.yaml names cloud `stratus` (admin); URL is the identity root; `openstack`
# must be on PATH (scripts/venv.sh). Setup with the CLI: project horizon-check with user
# horizon-member (role member), its network, subnet and router (gateway on `public`), a
# public 64 KiB raw image; m1.nano must exist (made if not).
#
# Horizon runs from its own venv (scripts/venv.sh scripts/requirements-horizon.txt) under
# Django's runserver on a free loopback port, with horizon_settings.py as local_settings
# (keystone $URL/v3, sessions in signed cookies, cache in memory; no memcached, Apache or
# collectstatic). horizon_check.py then acts as a browser without JavaScript:
#  - logs in through the login form as admin and as the member;
#  - fetches the project, admin and identity panels; a page fails if it is not HTTP 200,
#    ends on the login page, takes over 60 s, or shows Horizon's error/warning messages
#    (the alert markup of horizon/_messages.html; X-Horizon-Messages for AJAX tabs);
#  - as the member: imports and deletes a key pair, creates a network (workflow) and a
#    security group with a rule (forms), launches an instance through the REST calls of
#    Horizon's launch wizard (Horizon 27 has no other launch form), waits for ACTIVE,
#    allocates and associates a floating IP (forms), loads the instance's detail page and
#    tabs, and deletes it with the instances table's Delete action.
# Each check prints PASS/FAIL; the last line is `clients-horizon: N passed, N failed`; exit
# status 1 if any failed. Everything made is deleted on exit, and the server stopped.
# Horizon's log (tracebacks, every request it made to the cloud) is kept when something
# failed: its path is printed before the last line.
set -uo pipefail

: "${URL:?URL (the identity root) must be set}" "${ADMIN_PASSWORD:?ADMIN_PASSWORD must be set}"
# shellcheck source=../lib/clients.sh
source "$(dirname "$0")/../lib/clients.sh"
clients_init clients-horizon "${1:?usage: horizon.sh DATA_DIR}" requirements-horizon.txt
# shellcheck source=../lib/e2e.sh
source "$HERE/../lib/e2e.sh"
# shellcheck source=../lib/serve.sh
source "$HERE/../lib/serve.sh"   # free_port

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-horizon.XXXXXX")
LOG=$WORK/horizon.log
PROJECT=horizon-check USER_NAME=horizon-member IMAGE=horizon-check-image FLAVOR=m1.nano
HZ_PID= IMAGE_ID= NET_ID= FLAVOR_MADE=

# purge: deletes what this script makes (also what an interrupted run left behind).
purge() {
  local id port
  for id in $(os server list --project "$PROJECT" -f value -c ID 2>/dev/null); do
    os server delete --wait "$id" >/dev/null 2>&1
  done
  for id in $(os floating ip list --project "$PROJECT" -f value -c ID 2>/dev/null); do
    os floating ip delete "$id" >/dev/null 2>&1
  done
  for id in $(os router list --project "$PROJECT" -f value -c ID 2>/dev/null); do
    for port in $(os port list --router "$id" --device-owner network:router_interface -f value -c ID 2>/dev/null); do
      os router remove port "$id" "$port" >/dev/null 2>&1
    done
    os router delete "$id" >/dev/null 2>&1
  done
  for id in $(os port list --project "$PROJECT" -f value -c ID 2>/dev/null); do
    os port delete "$id" >/dev/null 2>&1
  done
  for id in $(os network list --project "$PROJECT" -f value -c ID 2>/dev/null); do
    os network delete "$id" >/dev/null 2>&1
  done
  for id in $(os security group list --project "$PROJECT" -f value -c ID 2>/dev/null); do
    os security group delete "$id" >/dev/null 2>&1
  done
  for id in $(os image list --name "$IMAGE" -f value -c ID 2>/dev/null); do os image delete "$id" >/dev/null 2>&1; done
  for id in $(os keypair list --user "$USER_NAME" -f value -c Name 2>/dev/null); do
    os keypair delete --user "$USER_NAME" "$id" >/dev/null 2>&1
  done
  os user delete "$USER_NAME" >/dev/null 2>&1
  os project delete "$PROJECT" >/dev/null 2>&1
}
cleanup() {
  [[ -n $HZ_PID ]] && kill "$HZ_PID" 2>/dev/null && wait "$HZ_PID" 2>/dev/null
  purge
  [[ -n $FLAVOR_MADE ]] && os flavor delete "$FLAVOR" >/dev/null 2>&1
  if (( FAILED == 0 )); then rm -rf "$WORK"; else rm -rf "$WORK/local" "$WORK/image.raw"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# summary: the log's place if something failed, then the result line.
summary() {
  (( FAILED )) && echo "horizon's log (kept): $LOG"
  echo "clients-horizon: $PASSED passed, $FAILED failed"
  (( FAILED == 0 ))
}

# --- Horizon's settings ---------------------------------------------------------
mkdir -p "$WORK/local" "$VENV/horizon-static"
: >"$WORK/local/__init__.py"
SECRET=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))')
sed -e "s|@SECRET_KEY@|$SECRET|" -e "s|@KEYSTONE_URL@|$URL/v3|" -e "s|@STATIC_ROOT@|$VENV/horizon-static|" \
  -e "s|@CACERT@|${OS_CACERT-}|" \
  "$HERE/horizon_settings.py" >"$WORK/local/local_settings.py"

# --- the cloud side: a project with a member, its network, an image, the flavor ---------
os project show "$PROJECT" >/dev/null 2>&1 && purge   # an earlier run's leftovers
MEMBER_PASSWORD=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))')
check "project $PROJECT" os project create --or-show "$PROJECT"
check "user $USER_NAME" os user create --or-show --project "$PROJECT" --password="$MEMBER_PASSWORD" "$USER_NAME"
check "user password" os user set --password="$MEMBER_PASSWORD" "$USER_NAME"
check "role member on $PROJECT" os role add --project "$PROJECT" --user "$USER_NAME" member
check -m '^id="' "network of $PROJECT" os network create --project "$PROJECT" horizon-net -f shell -c id
NET_ID=$(val id)
check -m '^id="' "subnet of $PROJECT" os subnet create --project "$PROJECT" --network "$NET_ID" \
  --subnet-range 10.98.0.0/24 horizon-subnet -f shell -c id
SUBNET_ID=$(val id)
check -m '^id="' "router of $PROJECT" os router create --project "$PROJECT" horizon-router -f shell -c id
ROUTER_ID=$(val id)
check "router gateway on public" os router set --external-gateway public "$ROUTER_ID"
check "router interface on the subnet" os router add subnet "$ROUTER_ID" "$SUBNET_ID"
head -c 65536 /dev/urandom >"$WORK/image.raw"
check -m '^id="' "64 KiB raw image" os image create --disk-format raw --container-format bare \
  --file "$WORK/image.raw" --public "$IMAGE" -f shell -c id
IMAGE_ID=$(val id)
if ! os flavor show "$FLAVOR" >/dev/null 2>&1; then
  check "flavor $FLAVOR" os flavor create --ram 64 --disk 1 --vcpus 1 "$FLAVOR" && FLAVOR_MADE=1
fi

# --- Horizon under runserver ----------------------------------------------------
HZ_PORT=$(free_port)
(cd "$WORK" && exec env PYTHONPATH="$WORK" DJANGO_SETTINGS_MODULE=openstack_dashboard.settings \
  "$VENV/bin/python" -m django runserver "127.0.0.1:$HZ_PORT" --noreload) >"$LOG" 2>&1 &
HZ_PID=$!
for ((i = 0; i < 120; i++)); do
  curl -sf -o /dev/null "http://127.0.0.1:$HZ_PORT/auth/login/" && break
  kill -0 "$HZ_PID" 2>/dev/null || break
  sleep 0.5
done
check -m '^200$' "horizon answers on port $HZ_PORT" \
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HZ_PORT/auth/login/"
[[ $OUT == 200 ]] || { tail -30 "$LOG"; summary; exit 1; }

# --- the browser ------------------------------------------------------------------
HORIZON_ADMIN_PASSWORD=$ADMIN_PASSWORD HORIZON_MEMBER_PASSWORD=$MEMBER_PASSWORD \
  "$VENV/bin/python" "$HERE/horizon_check.py" --url "http://127.0.0.1:$HZ_PORT" \
  --member "$USER_NAME" --project "$PROJECT" --network-id "$NET_ID" \
  --image-id "$IMAGE_ID" --image-name "$IMAGE" \
  --flavor "$FLAVOR" --server-name "horizon-vm-$S" --counts "$WORK/counts"
read -r P F <"$WORK/counts" 2>/dev/null || { P=0 F=1; }
PASSED=$((PASSED + P)) FAILED=$((FAILED + F))
if (( FAILED )); then
  echo "horizon's tracebacks and errors (from $LOG):"
  grep -E -A12 '^Traceback|ERROR|Internal Server Error' "$LOG" | grep -v '^--$' | head -80 | sed 's/^/    | /'
  echo "the cloud's 4xx/5xx answers to horizon and the errors horizon handled:"
  grep -E -A1 'RESP: \[[45]|Recoverable error' "$LOG" | grep -v '^--$' | cut -c1-250 | head -20 | sed 's/^/    | /'
fi
summary
