#!/usr/bin/env bash
# End-to-end checks of Stratus's Object Storage (Swift v1) with python-openstackclient,
# the swift CLI (python-swiftclient) and curl: the seed commands of the object store.
#
#   scripts/e2e/object.sh DATA_DIR
#
# Same conventions as identity.sh. The last line is `e2e: N passed, N failed`.
set -uo pipefail

DATA=${1:?usage: object.sh DATA_DIR}
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stratus-e2e-object.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
check -m "'url': 'http[^']*/v1/AUTH_[0-9a-f]+'" "object-store endpoint in the catalog (the project's account)" os catalog show object-store -f value -c endpoints
check -m 'auth_url' "auth URL" os configuration show -f shell
AUTH_URL=$(sed -n "s/^auth\.auth_url=\"\(.*\)\"\$/\1/p" <<<"$OUT")
PASSWORD=$(sed -n 's/^ *password: "\(.*\)"$/\1/p' "$DATA/clouds.yaml")
sw() {
  envauth OS_USERNAME=admin OS_PASSWORD="$PASSWORD" OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default \
    OS_PROJECT_DOMAIN_NAME=Default swift "$@"
}
C=e2e-$S

# --- openstack container/object commands (the seed's) ------------------------
check -m "$C" "container create" os container create "$C"
printf 'hello object storage\n' >"$WORK/hello.txt"
(cd "$WORK" && check -m 'hello.txt' "object create" os object create "$C" hello.txt)
check -m 'hello.txt' "object list" os object list "$C"
check -m '^\| object_count +\| 1' "container show counts the object" os container show "$C"
check -m "$C" "container list" os container list
check "container set --property" os container set --property color=blue "$C"
check -m "Color='blue'" "container show has the property" os container show "$C"
check "object set --property" os object set --property kind=greeting "$C" hello.txt
check -m "Kind='greeting'" -m 'content-length +\| 21' "object show" os object show "$C" hello.txt
check "object unset --property" os object unset --property kind "$C" hello.txt
check -n "Kind=" "object show without the property" os object show "$C" hello.txt
check "object save" os object save --file "$WORK/saved.txt" "$C" hello.txt
check "saved bytes are identical" cmp "$WORK/hello.txt" "$WORK/saved.txt"
check "object store account set" os object store account set --property owner=e2e
check -m "Owner='e2e'" "object store account show" os object store account show
check "object store account unset" os object store account unset --property owner
check -x "container delete refuses a non-empty container" os container delete "$C"

# --- the swift CLI: segmented uploads (DLO and SLO), download, ACLs, tempurl --
head -c 3145728 /dev/urandom >"$WORK/big.bin"
MD5=$(md5sum "$WORK/big.bin" | cut -d' ' -f1)
check -m 'dlo.bin segment 2' "swift upload --segment-size --use-dlo" sw upload --use-dlo --segment-size 1048576 --object-name dlo.bin "$C" "$WORK/big.bin"
check -m 'slo.bin segment 2' "swift upload --segment-size --use-slo" sw upload --use-slo --segment-size 1048576 --object-name slo.bin "$C" "$WORK/big.bin"
check -m "Manifest: ${C}_segments/dlo.bin" -m 'Content Length: 3145728' "swift stat of the DLO" sw stat "$C" dlo.bin
check -m 'Content Length: 3145728' -m 'Static-Large-Object: True' "swift stat of the SLO" sw stat "$C" slo.bin
for name in dlo.bin slo.bin; do
  check "swift download $name" sw download "$C" "$name" -o "$WORK/$name.out"
  check -m "^$MD5 " "$name downloads whole" md5sum "$WORK/$name.out"
done
check -m 'dlo.bin' -m 'slo.bin' "swift list" sw list "$C"
check -m '00000002' "segments container lists the segments" sw list "${C}_segments"
check "swift post -r '.r:*,.rlistings'" sw post -r '.r:*,.rlistings' "$C"
check -m 'Read ACL: .r:\*,.rlistings' "swift stat shows the read ACL" sw stat "$C"
URL=$(sw auth | sed -n 's/^export OS_STORAGE_URL=//p')
check -m '^hello object storage' "anonymous GET of a public object" curl -sf "$URL/$C/hello.txt"
check -m 'hello.txt' "anonymous listing with .rlistings" curl -sf "$URL/$C"
check "swift post -r ''" sw post -r '' "$C"
check -m '^401' "no anonymous GET once private" curl -s -o /dev/null -w '%{http_code}' "$URL/$C/hello.txt"
check "account temp URL key" sw post -m 'Temp-URL-Key:e2ekey'
PATH_=$(sed -E 's#^https?://[^/]+##' <<<"$URL")/$C/hello.txt
check -m "temp_url_sig" "swift tempurl" sw tempurl GET 300 "$PATH_" e2ekey
TEMP=$(grep temp_url_sig <<<"$OUT" | tail -1)
check -m '^hello object storage' "GET through the temp URL" curl -sf "${URL%%/v1/*}$TEMP"
check -m '^401' "a temp URL does not allow PUT" curl -s -o /dev/null -w '%{http_code}' -X PUT --data x "${URL%%/v1/*}$TEMP"
check -m 'Containers: ' -m 'Objects: ' "swift stat of the account" sw stat

# --- copies, ranges and expiry through the API ---------------------------------
TOKEN=$(os token issue -f value -c id)
H=(-H "X-Auth-Token: $TOKEN")
check -m '^201' "server-side copy (X-Copy-From)" curl -s -o /dev/null -w '%{http_code}' -X PUT "${H[@]}" \
  -H "X-Copy-From: $C/hello.txt" -H 'Content-Length: 0' "$URL/$C/copy.txt"
check -m '^lo ob$' "ranged GET of the copy" curl -sf "${H[@]}" -H 'Range: bytes=3-7' "$URL/$C/copy.txt"
check -m '^201' "an object that expires in 2 s" curl -s -o /dev/null -w '%{http_code}' -X PUT "${H[@]}" \
  -H 'X-Delete-After: 2' --data brief "$URL/$C/brief.txt"
sleep 3
check -m '^404' "expired object is gone" curl -s -o /dev/null -w '%{http_code}' "${H[@]}" "$URL/$C/brief.txt"
check -m '"slo"' -m '"tempurl"' -m '"object_versioning"' "/info lists the capabilities" curl -sf "${URL%%/v1/*}/info"

# --- object versioning (X-Versions-Enabled) with the swift CLI --------------------
V="${C}-versioned"
check "swift post -H 'X-Versions-Enabled: true'" sw post -H 'X-Versions-Enabled: true' "$V"
check -m 'Versions-Enabled: True' "swift stat shows versioning on" sw stat "$V"
for text in first second; do
  printf '%s\n' "$text" >"$WORK/v.txt"
  (cd "$WORK" && check "swift upload of the $text version" sw upload "$V" v.txt)
done
check -m 'v\.txt' "swift list --versions" sw list --versions "$V"
mapfile -t VERSIONS < <(awk '$NF == "v.txt" {print $4}' <<<"$OUT")
check -m '^2$' "both versions are listed, newest first" echo "${#VERSIONS[@]}"
check -m '^first$' "swift download --version-id of the older version" \
  sw download --version-id "${VERSIONS[1]:-none}" -o - "$V" v.txt
check -m '^second$' "swift download gives the current version" sw download -o - "$V" v.txt
check "swift delete leaves a delete marker" sw delete "$V" v.txt
check -m 'application/x-deleted' "the delete marker is listed" sw list --versions "$V"
check -m 'Content Length: 7' -m 'X-Object-Version-Id' "swift stat --version-id of a deleted object's version" \
  sw stat --version-id "${VERSIONS[0]:-none}" "$V" v.txt
check "swift delete --versions removes every version and the container" sw delete --versions "$V"
check -x "versioned container is gone" sw stat "$V"

# --- cleanup ------------------------------------------------------------------
check "swift delete of the SLO removes its segments" sw delete "$C" slo.bin
check "container delete --recursive" os container delete --recursive "$C"
check "segments container delete --recursive" os container delete --recursive "${C}_segments"
check -x "deleted container is gone" os container show "$C"
finish
