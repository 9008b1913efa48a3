#!/usr/bin/env bash
# Stratus driven by Ansible's openstack.cloud collection, unchanged: cloud.yml beside
# this script uploads an image, builds a network, subnet, router (gateway on `public`),
# security group, key pair and a server with a floating IP (auto_ip, wait), checks them
# with the *_info modules, adds a port, flavor, server group, project and user (who logs
# in), then tears everything down in reverse and checks it is gone.
#
#   scripts/clients/ansible.sh DATA_DIR
#
# DATA_DIR is the running server's --data-dir (its clouds.yaml names cloud `stratus`).
# The tools come from the venv of scripts/requirements-clients.txt (made by
# scripts/venv.sh). Passed = tasks ok, failed = tasks failed or (in the teardown)
# failed and ignored, from the PLAY RECAP. The last line is
# `clients-ansible: N passed, N failed`; exit status 1 if any failed.
# ANSIBLE_SERVER_TIMEOUT (default 120) bounds the wait for the server and its IP.
set -uo pipefail

# shellcheck source=../lib/clients.sh
source "$(dirname "$0")/../lib/clients.sh"
clients_init clients-ansible "${1:?usage: ansible.sh DATA_DIR}"
S=${E2E_SUFFIX:-$RANDOM}
WORK=$DATA/clients-ansible-$S
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

head -c 65536 /dev/urandom >"$WORK/image.raw"
AUTH_URL=$("$VENV/bin/python" -c 'import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["clouds"]["stratus"]["auth"]["auth_url"])' "$DATA/clouds.yaml")

# Keep Ansible's state inside the work dir and use only the collection the venv's
# `ansible` package bundles (implicit localhost runs modules with the venv's python).
export OS_CLIENT_CONFIG_FILE=$DATA/clouds.yaml
export ANSIBLE_HOME=$WORK/home ANSIBLE_LOCAL_TEMP=$WORK/tmp ANSIBLE_COLLECTIONS_PATH=$WORK/collections
export ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_LOCALHOST_WARNING=False
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=False PYTHONUNBUFFERED=1
export ANSIBLE_PYTHON_INTERPRETER=$VENV/bin/python

"$VENV/bin/ansible-playbook" "$HERE/cloud.yml" \
  -e "sfx=$S" -e "image_file=$WORK/image.raw" -e "auth_url=$AUTH_URL" \
  -e "server_timeout=${ANSIBLE_SERVER_TIMEOUT:-120}" \
  2>&1 | tee "$WORK/run.log"
rc=${PIPESTATUS[0]}

# PLAY RECAP: localhost : ok=N changed=N unreachable=N failed=N skipped=N rescued=N ignored=N
recap=$(grep -E '^localhost +: ok=' "$WORK/run.log" | tail -1)
num() { sed -nE "s/.* $1=([0-9]+).*/\1/p" <<<"$recap"; }
passed=$(num ok) failed=$(( $(num failed) + $(num unreachable) + $(num ignored) ))
if [[ -z $recap ]]; then passed=0 failed=1; fi
if (( rc != 0 && failed == 0 )); then failed=1; fi
echo "clients-ansible: ${passed:-0} passed, $failed failed"
(( failed == 0 ))
