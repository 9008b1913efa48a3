# Starting and stopping a `stratus serve` on free loopback ports: scripts/test.sh's cloud,
# and the private clouds of e2e scenarios that need other settings.

# free_port: a TCP port nobody listens on now.
free_port() { "${PY:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# serve_stratus DATA_DIR LOG_FILE [STRATUS_X=VALUE...]: starts the server with a fresh admin
# password and waits (60 s at most) until every service answers and DATA_DIR/clouds.yaml
# exists. Sets STRATUS_PID, URL (the identity root), ADMIN_PASSWORD and PORT, IMAGE_PORT,
# NETWORK_PORT, COMPUTE_PORT, METADATA_PORT, PLACEMENT_PORT, VOLUME_PORT, OBJECT_PORT. On failure prints the log's
# tail and returns 1. With STRATUS_TLS=1 the cloud serves HTTPS (`serve --tls`), URL is https and
# tls_trust has exported the variables that make curl, Python and the OpenStack tools trust its CA.
serve_stratus() {
  local data=$1 log=$2; shift 2
  PORT=$(free_port) IMAGE_PORT=$(free_port) NETWORK_PORT=$(free_port)
  COMPUTE_PORT=$(free_port) METADATA_PORT=$(free_port) PLACEMENT_PORT=$(free_port) VOLUME_PORT=$(free_port)
  OBJECT_PORT=$(free_port)
  ADMIN_PASSWORD=$("${PY:-python3}" -c 'import secrets; print(secrets.token_urlsafe(18))')
  SCHEME=http; [[ ${STRATUS_TLS-} == 1 ]] && SCHEME=https
  URL=$SCHEME://127.0.0.1:$PORT
  start_stratus "$data" "$log" "$@" >"$log" 2>&1
  local deadline=$((SECONDS + 60)) port
  while true; do
    local ready=1
    [[ -f $data/clouds.yaml ]] || ready=0
    (( ready )) && tls_trust "$data"
    (( ready )) && { curl -sf -o /dev/null "$URL/v3" || ready=0; }
    for port in "$IMAGE_PORT" "$NETWORK_PORT" "$COMPUTE_PORT" "$PLACEMENT_PORT" "$VOLUME_PORT" "$OBJECT_PORT"; do
      (( ready )) && { curl -s -o /dev/null "$SCHEME://127.0.0.1:$port/" || ready=0; }
    done
    (( ready )) && return 0
    if ! kill -0 "$STRATUS_PID" 2>/dev/null || (( SECONDS > deadline )); then
      echo "stratus serve did not become ready on $URL; its log:"; tail -50 "$log"
      return 1
    fi
    sleep 0.5
  done
}

# restart_stratus DATA_DIR LOG_FILE [STRATUS_X=VALUE...]: starts the server again on the same
# data directory, ports and admin password as serve_stratus chose (its log appended to
# LOG_FILE), and waits (60 s at most) until identity, block storage and object storage answer.
# Sets STRATUS_PID.
restart_stratus() {
  local data=$1 log=$2; shift 2
  start_stratus "$data" "$log" "$@" >>"$log" 2>&1
  local deadline=$((SECONDS + 60))
  until curl -sf -o /dev/null "$URL/v3" && curl -s -o /dev/null "$SCHEME://127.0.0.1:$VOLUME_PORT/" &&
    curl -s -o /dev/null "$SCHEME://127.0.0.1:$OBJECT_PORT/info"; do
    if ! kill -0 "$STRATUS_PID" 2>/dev/null || (( SECONDS > deadline )); then
      echo "stratus serve did not come back on $URL; its log:"; tail -50 "$log"; return 1
    fi
    sleep 0.5
  done
}

# start_stratus DATA_DIR LOG_FILE [STRATUS_X=VALUE...]: `stratus serve` in the background on the
# ports, password and scheme serve_stratus chose (output to wherever the caller sends it).
start_stratus() {
  local data=$1; shift 2
  local tls=(); [[ $SCHEME == https ]] && tls=(--tls)
  env STRATUS_IDENTITY_PORT="$PORT" STRATUS_IMAGE_PORT="$IMAGE_PORT" STRATUS_NETWORK_PORT="$NETWORK_PORT" \
    STRATUS_COMPUTE_PORT="$COMPUTE_PORT" STRATUS_COMPUTE_METADATA_PORT="$METADATA_PORT" STRATUS_PLACEMENT_PORT="$PLACEMENT_PORT" \
    STRATUS_BLOCK_STORAGE_PORT="$VOLUME_PORT" STRATUS_OBJECT_STORAGE_PORT="$OBJECT_PORT" \
    STRATUS_DEFAULT_BIND_HOST=127.0.0.1 STRATUS_DEFAULT_PUBLIC_HOST=127.0.0.1 "$@" \
    "${STRATUS_BIN:-.build/debug/stratus}" serve --data-dir "$data" --admin-password="$ADMIN_PASSWORD" "${tls[@]}" &
  STRATUS_PID=$!
}

# tls_trust DATA_DIR: on a cloud with its own CA (DATA_DIR/tls/ca.pem), exports OS_CACERT (the
# OpenStack tools) and a bundle of the system's roots and that CA as CURL_CA_BUNDLE,
# REQUESTS_CA_BUNDLE, SSL_CERT_FILE (Python's ssl) and AWS_CA_BUNDLE.
tls_trust() {
  local ca=$1/tls/ca.pem bundle=$1/tls/bundle.pem
  [[ -f $ca ]] || return 0
  cat /etc/ssl/certs/ca-certificates.crt "$ca" >"$bundle" 2>/dev/null || cp "$ca" "$bundle"
  export OS_CACERT=$ca CURL_CA_BUNDLE=$bundle REQUESTS_CA_BUNDLE=$bundle SSL_CERT_FILE=$bundle AWS_CA_BUNDLE=$bundle
}

# stop_stratus PID: SIGTERM, then SIGKILL after 10 s (returns 1 then).
stop_stratus() {
  [[ -n $1 ]] || return 0
  kill -TERM "$1" 2>/dev/null
  local i; for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    kill -KILL "$1" 2>/dev/null; echo "stratus serve ignored SIGTERM for 10s"; return 1
  fi
  wait "$1" 2>/dev/null
  return 0
}
