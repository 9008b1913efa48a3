#!/usr/bin/env bash
# The fuzz step (issue 21): malformed JSON, wrong types, huge and deeply nested bodies, bad
# ids, hostile query strings and headers against every route of every service, as listed
# by the server in DATA_DIR/routes. Any 5xx, dropped connection or answer slower than 5 s
# fails its route. The work is scripts/e2e/fuzz.py's (Python with requests: $PY, else
# python3 of the venv on PATH); URL and ADMIN_PASSWORD come from the environment, as
# scripts/test.sh runs every scenario.
#
#   scripts/e2e/fuzz.sh DATA_DIR
#
# Same conventions as identity.sh: a PASS/FAIL line per route, then
# `fuzz: N routes, N requests, N failures (T s)` and `e2e: N passed, N failed`; exit
# status 1 if any route failed. FUZZ_ONLY=REGEX fuzzes the matching routes only
# (`<service> <METHOD> <path>`, e.g. FUZZ_ONLY='^placement PUT').
set -uo pipefail

DATA=${1:?usage: fuzz.sh DATA_DIR}
: "${URL:?URL (the identity root) must be set}" "${ADMIN_PASSWORD:?ADMIN_PASSWORD must be set}"
if [[ ! -s $DATA/routes ]]; then
  echo "FAIL routes list: $DATA/routes is missing (the server writes it on start)"
  echo "e2e: 0 passed, 1 failed"; exit 1
fi
export URL ADMIN_PASSWORD
"${PY:-python3}" "$(dirname "$0")/fuzz.py" "$DATA"; rc=$?
if (( rc > 1 )); then   # the script itself broke (a traceback): no result line of its own
  echo "FAIL fuzz.py exited $rc"; echo "e2e: 0 passed, 1 failed"; exit 1
fi
exit "$rc"
