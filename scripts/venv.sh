#!/usr/bin/env bash
# Make sure the Python venv for the e2e/conformance tools exists; print its path.
#
#   export PATH="$(scripts/venv.sh)/bin:$PATH"
#   scripts/venv.sh scripts/requirements-horizon.txt   # another pinned set
#
# The venv lives outside the repo, keyed by a hash of the requirements file (default
# scripts/requirements-e2e.txt) and the Python version, so a re-run on the same
# machine reuses it. Override the location of the default venv with STRATUS_VENV
# and the interpreter with PYTHON.
set -euo pipefail

REQ=${1:-$(cd "$(dirname "$0")" && pwd)/requirements-e2e.txt}
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
KEY=$({ cat "$REQ"; "$PY" -V; } | sha256sum | cut -c1-12)
VENV=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/stratus/venv-$KEY
(( $# )) || VENV=${STRATUS_VENV:-$VENV}

if [[ ! -f $VENV/.complete ]]; then
  echo "venv: installing into $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" >&2
  touch "$VENV/.complete"
fi
echo "$VENV"
