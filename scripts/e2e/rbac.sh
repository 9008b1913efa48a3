#!/usr/bin/env bash
# The RBAC matrix (issue 21): for every API resource of every service, a member and a reader of
# project A and a member of project B try list, show, create, update and delete on what A's member
# made, and get what the upstream default policies (2023+ "secure RBAC" personas) say: no
# cross-project read or write anywhere, readers only read. The table of resources and expected
# answers is in rbac.py; a FAIL line names the upstream rule and gives a curl reproduction.
# Everything it makes (projects, users, resources) is deleted at the end; the full results are
# written to DATA_DIR/rbac-results.json.
#
#   scripts/e2e/rbac.sh DATA_DIR
#
# Same conventions as identity.sh (URL and ADMIN_PASSWORD in the environment, DATA_DIR/tls/ca.pem
# if the cloud speaks https). The last line is `e2e: N passed, N failed`.
set -uo pipefail

DATA=${1:?usage: rbac.sh DATA_DIR}
: "${URL:?URL (the identity root) must be set}" "${ADMIN_PASSWORD:?ADMIN_PASSWORD must be set}"
export URL ADMIN_PASSWORD
exec "${PY:-python3}" "$(dirname "$0")/rbac.py" "$DATA"
