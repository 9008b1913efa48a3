#!/usr/bin/env bash
# End-to-end checks of Stratus's Image API (Glance v2) with python-openstackclient and curl.
#
#   scripts/e2e/image.sh DATA_DIR
#
# Same conventions as identity.sh. E2E_IMAGE_MB sets the size of the big image
# (default 200). The last line is `e2e: N passed, N failed`.
set -uo pipefail

DATA=${1:?usage: image.sh DATA_DIR}
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-e2e-image.XXXXXX")
HTTP_PID=
trap '[[ -n $HTTP_PID ]] && kill $HTTP_PID 2>/dev/null; rm -rf "$WORK"' EXIT
os() { openstack "$@"; }

check -m '^http' "image endpoint in the catalog" os endpoint list --service image --interface public -f value -c URL
API_BASE=$(head -1 <<<"$OUT")
check -m '"token"|id=' "admin token" os token issue -f shell -c id
TOKEN=$(val id)
H=(-H "X-Auth-Token: $TOKEN")

# --- a big image through the CLI: upload, download, checksums ---------------
MB=${E2E_IMAGE_MB:-200}
head -c "${MB}M" /dev/urandom >"$WORK/big.img"
MD5=$(md5sum "$WORK/big.img" | cut -d' ' -f1)
SHA512=$(sha512sum "$WORK/big.img" | cut -d' ' -f1)
check -m '^status="active"' -m "^checksum=\"$MD5\"" -m "^size=\"$((MB * 1048576))\"" "image create --file (${MB} MB) --public" \
  os image create --file "$WORK/big.img" --disk-format raw --container-format bare --public "big-$S" -f shell
BIG=$(val id)
check -m "'os_hash_value': '$SHA512'" -m "'os_hash_algo': 'sha512'" "image show: sha512 of the file" os image show "$BIG" -f shell -c properties
check "image save" os image save --file "$WORK/big.out" "$BIG"
check "saved bytes are identical" cmp "$WORK/big.img" "$WORK/big.out"
rm -f "$WORK/big.out"
check -m '^HTTP 206$' "ranged download (curl)" api GET "/v2/images/$BIG/file" '' "${H[@]}" -H 'Range: bytes=0-1023' -o /dev/null

# --- properties, tags, protection, activation -------------------------------
printf 'small image' >"$WORK/small.img"
check -m '^status="active"' "image create (small, shared by default)" \
  os image create --file "$WORK/small.img" --disk-format raw --container-format bare "small-$S" -f shell
SMALL=$(val id)
check -m "^visibility=\"shared\"" "default visibility is shared" os image show "$SMALL" -f shell -c visibility
check "image set --property --tag" os image set --property os_distro=cirros --property hw_disk_bus=virtio --tag e2e-$S --tag other "$SMALL"
check -m "'os_distro': 'cirros'" -m "'hw_disk_bus': 'virtio'" "properties set" os image show "$SMALL" -f shell -c properties
check -m "e2e-$S" "tags set" os image show "$SMALL" -f shell -c tags
check "image unset --property --tag" os image unset --property hw_disk_bus --tag other "$SMALL"
check -n "hw_disk_bus" -m "'os_distro': 'cirros'" "property removed" os image show "$SMALL" -f shell -c properties
check -n "other" "tag removed" os image show "$SMALL" -f shell -c tags
check "image set --protected" os image set --protected "$SMALL"
check -x "delete refused while protected" os image delete "$SMALL"
check "image set --unprotected" os image set --unprotected "$SMALL"

# --- sharing with another project -------------------------------------------
check "project for the member" os project create --domain Default "img-member-$S"
check "member user" os user create --domain Default --password "pw-$S" --project "img-member-$S" "img-member-$S"
check "member role" os role add --user "img-member-$S" --project "img-member-$S" member
member() {
  env -u OS_CLOUD -u OS_CLIENT_CONFIG_FILE OS_AUTH_URL="$AUTH_URL" OS_IDENTITY_API_VERSION=3 OS_INTERFACE=public \
    OS_USERNAME="img-member-$S" OS_PASSWORD="pw-$S" OS_PROJECT_NAME="img-member-$S" \
    OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default openstack "$@"
}
check -m '^auth\.auth_url=' "auth url" os configuration show -f shell
AUTH_URL=$(val auth\\.auth_url)
check -n "small-$S" "member does not see the shared image yet" member image list
check -m "pending" "image add project" os image add project "$SMALL" "img-member-$S"
check -n "small-$S" "pending member still does not see it" member image list
check -m "small-$S" "pending member can still show it by id (Glance semantics)" member image show "$SMALL"
check "member accepts: image set --accept" member image set --accept "$SMALL"
check -m "small-$S" "member sees the accepted image" member image list
check -m "small-$S" "member lists shared images" member image list --shared
check -m "accepted" "image member list" os image member list "$SMALL"
check "member downloads it" member image save --file "$WORK/small.out" "$SMALL"
check "member got the same bytes" cmp "$WORK/small.img" "$WORK/small.out"
check "image set --deactivate" os image set --deactivate "$SMALL"
check -m '^status="deactivated"' "status deactivated" os image show "$SMALL" -f shell -c status
check -x "download refused while deactivated" member image save --file "$WORK/x" "$SMALL"
check "image set --activate" os image set --activate "$SMALL"
check "download works again" member image save --file "$WORK/small.out" "$SMALL"
check -x "member cannot modify it" member image set --name stolen "$SMALL"
check -x "member cannot make an image public" member image create --public "pub-$S"
check -m "big-$S" "member sees public images" member image list --public
check "image remove project" os image remove project "$SMALL" "img-member-$S"
check -n "small-$S" "removed member no longer sees it" member image list

# --- listing ------------------------------------------------------------------
check -m "big-$S" -n "small-$S" "image list --public" os image list --public
check -m "small-$S" -n "big-$S" "image list --shared" os image list --shared
check -m "small-$S" -n "big-$S" "image list --tag" os image list --tag "e2e-$S"
check -m "big-$S" "image list --name" os image list --name "big-$S"
check -m "Checksum" -m "Visibility" -m "$MD5" "image list --long" os image list --long
check -m "small-$S" -n "big-$S" "image list --property" os image list --property os_distro=cirros
check -m "small-$S" "image list --status active --sort name:asc" os image list --status active --sort name:asc
check -m '^HTTP 200$' -m '"next"' "pagination: limit=1 gives a next link" api GET "/v2/images?limit=1" '' "${H[@]}"

# --- interoperable import -------------------------------------------------------
check -m "glance-direct" -m "web-download" "GET /v2/info/import" api GET /v2/info/import '' "${H[@]}"
check -m '"default": *true' "GET /v2/info/stores" api GET /v2/info/stores '' "${H[@]}"
check "image create --import (glance-direct)" os image create --import --file "$WORK/small.img" --disk-format raw \
  --container-format bare "imported-$S"
IMPORTED=$(os image show "imported-$S" -f value -c id)
for _ in $(seq 50); do [[ $(os image show "$IMPORTED" -f value -c status) == active ]] && break; sleep 0.2; done
check -m '^status="active"' -m '^size="11"' "imported image becomes active" os image show "$IMPORTED" -f shell -c status -c size
check -m '"status": *"success"' "import task recorded" api GET "/v2/images/$IMPORTED/tasks" '' "${H[@]}"

# web-download from a local HTTP server
cp "$WORK/small.img" "$WORK/served.img"
HTTP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$WORK" && exec python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
HTTP_PID=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/served.img" && break; sleep 0.1; done
# (the CLI would upload its stdin when it is not a terminal, so create it with curl)
check -m '^HTTP 201$' "image create for web-download" \
  api POST /v2/images "{\"name\":\"web-$S\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}" "${H[@]}"
WEB=$(sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' <<<"$OUT" | head -1)
check -m '^HTTP 400$' "web-download of an unresolvable host is refused" api POST "/v2/images/$WEB/import" \
  '{"method":{"name":"web-download","uri":"http://does-not.exist/x.img"}}' "${H[@]}"
check -m '^HTTP 202$' "POST import web-download" api POST "/v2/images/$WEB/import" \
  "{\"method\":{\"name\":\"web-download\",\"uri\":\"http://127.0.0.1:$HTTP_PORT/served.img\"}}" "${H[@]}"
for _ in $(seq 50); do [[ $(os image show "$WEB" -f value -c status) == active ]] && break; sleep 0.2; done
check -m '^status="active"' "web-download image becomes active" os image show "$WEB" -f shell -c status

# --- bad input ------------------------------------------------------------------
check -m '^HTTP 400$' "unknown disk_format" api POST /v2/images '{"name":"x","disk_format":"floppy"}' "${H[@]}"
check -m '^HTTP 403$' "read-only attribute on create" api POST /v2/images '{"name":"x","status":"active"}' "${H[@]}"
check -m '^HTTP 403$' "reserved os_glance_ property" api POST /v2/images '{"name":"x","os_glance_x":"y"}' "${H[@]}"
check -m '^HTTP 400$' "malformed JSON" api POST /v2/images '{"name":' "${H[@]}"
check -m '^HTTP 415$' "PATCH with a JSON content type" api PATCH "/v2/images/$SMALL" '[]' "${H[@]}"
check -m '^HTTP 409$' "second upload to an active image" curl -sS -X PUT -w '\nHTTP %{http_code}\n' "${H[@]}" \
  -H 'Content-Type: application/octet-stream' --data-binary data "$API_BASE/v2/images/$SMALL/file"
check -m '^HTTP 404$' "unknown image" api GET /v2/images/00000000-0000-0000-0000-000000000000 '' "${H[@]}"
check -m '^HTTP 401$' "no token" api GET /v2/images
check -m '^HTTP 300$' -m '"CURRENT"' "version discovery at /" api GET /

# --- clean up -------------------------------------------------------------------
check "image delete" os image delete "$BIG" "$SMALL" "$IMPORTED" "$WEB"
check -x "deleted image is gone" os image show "$BIG"
check "member user delete" os user delete "img-member-$S"
check "member project delete" os project delete "img-member-$S"
finish
