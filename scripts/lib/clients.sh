# The start every real-client check (scripts/clients/*.sh) shares.

# clients_init STEP DATA_DIR [REQUIREMENTS]: sets DATA (made absolute), HERE (the calling
# script's folder) and VENV (the venv of scripts/REQUIREMENTS, by default
# requirements-clients.txt, made by scripts/venv.sh). When either fails it prints STEP's
# summary line with one failure and exits.
clients_init() {
  DATA=$(cd "$2" && pwd) && HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd) &&
    VENV=$("$HERE/../venv.sh" "$HERE/../${3:-requirements-clients.txt}") ||
    { echo "$1: 0 passed, 1 failed"; exit 1; }
}
