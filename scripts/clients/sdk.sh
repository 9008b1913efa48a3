#!/usr/bin/env bash
# Stratus driven by openstacksdk's cloud layer, unchanged: sdk_cloud.py beside this
# script makes a network, subnet, router, security group, key pair, image and a server
# with a floating IP (create_server auto_ip/wait), checks them with search_*/get_*,
# then deletes it all (delete_server wait/delete_ips) and checks it is gone.
#
#   scripts/clients/sdk.sh DATA_DIR
#
# DATA_DIR is the running server's --data-dir (its clouds.yaml names cloud `stratus`).
# The SDK comes from the venv of scripts/requirements-clients.txt (scripts/venv.sh).
# Each call prints PASS/FAIL; the last line is `clients-sdk: N passed, N failed`; exit
# status 1 if any failed, when the SDK's HTTP debug log is kept in DATA_DIR.
# SDK_SERVER_TIMEOUT (default 120) bounds the wait for the server and its IP.
set -uo pipefail

# shellcheck source=../lib/clients.sh
source "$(dirname "$0")/../lib/clients.sh"
clients_init clients-sdk "${1:?usage: sdk.sh DATA_DIR}"
S=${E2E_SUFFIX:-$RANDOM}
IMG=$DATA/clients-sdk-$S.raw
export OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml SDK_LOG=$DATA/clients-sdk-$S.log

head -c 65536 /dev/urandom >"$IMG"
"$VENV/bin/python" "$HERE/sdk_cloud.py" "$S" "$IMG" "${SDK_SERVER_TIMEOUT:-120}"
rc=$?
rm -f "$IMG"
(( rc == 0 )) && rm -f "$SDK_LOG"
exit $rc
