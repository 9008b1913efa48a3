#!/usr/bin/env bash
# End-to-end checks of Stratus's Identity API with python-openstackclient and curl.
#
#   scripts/e2e/identity.sh DATA_DIR
#
# DATA_DIR is the running server's --data-dir (its clouds.yaml names cloud
# `stratus` with admin credentials). `openstack` must be on PATH (the venv made
# by scripts/venv.sh). Each check prints PASS/FAIL; the last line is
# `e2e: N passed, N failed`. Exit status is 1 if any check failed.
set -uo pipefail

DATA=${1:?usage: identity.sh DATA_DIR}

# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

password_auth() { # USER PASSWORD -> JSON body for POST /v3/auth/tokens
  printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"id":"default"},"password":"%s"}}}}}' "$1" "$2"
}
KEYSTONE_ERROR='"error": *\{'

# --- tokens and catalog ----------------------------------------------------
check -m '^auth\.auth_url=' "configuration show" os configuration show -f shell
AUTH_URL=$(val auth\\.auth_url)
AUTH_URL=${AUTH_URL:-${STRATUS_URL:-http://127.0.0.1:5000/v3}}
BASE=${AUTH_URL%/}; BASE=${BASE%/v3}

check -m '^id=".+' "token issue" os token issue -f shell -c id
ADMIN_TOKEN=$(val id)
check -m 'identity' -m '/v3' "catalog list" os catalog list
check -m '^HTTP 200$' "GET /v3 version document" api GET /v3
check -m '^HTTP 200$' -m '"token"' "validate token (curl)" \
  api GET /v3/auth/tokens '' -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $ADMIN_TOKEN"

check -m '^id=".+' "token issue (second token)" os token issue -f shell -c id
T2=$(val id)
check "token revoke" os token revoke "$T2"
check -m '^HTTP 40[14]$' "revoked token fails validation" \
  api GET /v3/auth/tokens '' -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $T2"
check -m '^HTTP 401$' "revoked token is rejected" api GET /v3/projects '' -H "X-Auth-Token: $T2"
check -x "revoked token unusable by CLI" \
  envauth OS_AUTH_TYPE=token OS_TOKEN="$T2" OS_PROJECT_NAME=admin OS_PROJECT_DOMAIN_ID=default \
  openstack project list

# --- domains -----------------------------------------------------------------
D=dom$S
check "domain create" os domain create --description "e2e domain" "$D"
check -m "$D" "domain list" os domain list
check -m 'e2e domain' "domain show" os domain show "$D"
check "domain set" os domain set --description changed "$D"
check -m 'changed' "domain show after set" os domain show "$D"

# --- projects ----------------------------------------------------------------
P=proj$S
check "project create" os project create --domain default --description "e2e project" "$P"
check "project create --parent" os project create --domain default --parent "$P" "$P-child"
check -m "^parent_id=\"$(os project show -f value -c id "$P" 2>/dev/null)\"" \
  "child project has parent_id" os project show -f shell "$P-child"
check -m "$P-child" "project list" os project list
check -m 'e2e project' "project show" os project show "$P"
check "project set" os project set --description changed "$P"
check -m 'changed' "project show after set" os project show "$P"
check -m "^HTTP 409$" -m "$KEYSTONE_ERROR" "duplicate project name -> 409" \
  api POST /v3/projects "{\"project\": {\"name\": \"$P\", \"domain_id\": \"default\"}}" -H "X-Auth-Token: $ADMIN_TOKEN"

# --- users and groups ------------------------------------------------------------
U=user$S UPW=pw-$S-original
check "user create" os user create --domain default --project "$P" --password "$UPW" --email "u@example.org" "$U"
check -m "$U" "user list" os user list
check -m 'u@example.org' "user show" os user show "$U"
check "user set" os user set --email "v@example.org" "$U"
check -m 'v@example.org' "user show after set" os user show "$U"

G=grp$S
check "group create" os group create --domain default --description "e2e group" "$G"
check -m "$G" "group list" os group list
check -m 'e2e group' "group show" os group show "$G"
check "group set" os group set --description changed "$G"
check "group add user" os group add user "$G" "$U"
check -m "^$U in group" "group contains user" os group contains user "$G" "$U"
check -m "$U" "user list --group" os user list --group "$G"
check "group remove user" os group remove user "$G" "$U"
check -m "not in group" "group no longer contains user" os group contains user "$G" "$U"

# --- roles and assignments -----------------------------------------------------------
R=role$S RI=implied$S
check "role create" os role create "$R"
check "role create (implied)" os role create "$RI"
check -m "$R" "role list" os role list
check -m "$R" "role show" os role show "$R"
check "role set" os role set --description changed "$R"
check "implied role create" os implied role create --implied-role "$RI" "$R"
check -m "$RI" "implied role list" os implied role list
check "role add (project)" os role add --user "$U" --project "$P" "$R"
check "role add (domain)" os role add --user "$U" --domain default "$R"
check "role add (system)" os role add --user "$U" --system all "$R"
check "role add (group on project)" os role add --group "$G" --project "$P" "$R"
check -m "$R.*$U@Default.*$P@Default" -m "$RI.*$U@Default.*$P@Default" \
  "role assignment list --names --effective" \
  os role assignment list --names --effective --user "$U" -f value -c Role -c User -c Project
check -m "$R" "role assignment list --system" os role assignment list --names --system all --user "$U"
check "role remove (project)" os role remove --user "$U" --project "$P" "$R"
check "role remove (domain)" os role remove --user "$U" --domain default "$R"
check "role remove (system)" os role remove --user "$U" --system all "$R"
check -n "$R" "removed assignments are gone" \
  os role assignment list --names --user "$U" -f value -c Role
check "implied role delete" os implied role delete --implied-role "$RI" "$R"

# --- user changes own password -------------------------------------------------------
as_user() { local pw=$1; shift
  envauth OS_USERNAME="$U" OS_PASSWORD="$pw" OS_USER_DOMAIN_ID=default \
    OS_PROJECT_NAME="$P" OS_PROJECT_DOMAIN_ID=default "$@"; }
check "role add member (for password change)" os role add --user "$U" --project "$P" member
check -m '^id=' "non-admin token issue" as_user "$UPW" openstack token issue -f shell -c id
NEWPW=pw-$S-changed
check "user password set (own)" as_user "$UPW" openstack user password set --original-password "$UPW" --password "$NEWPW"
check -m '^id=' "auth with new password" as_user "$NEWPW" openstack token issue -f shell -c id
check -x "auth with old password fails" as_user "$UPW" openstack token issue -f shell -c id

# --- application credentials -----------------------------------------------------------
check -m '^secret=".+' "application credential create" \
  as_user "$NEWPW" openstack application credential create -f shell -c id -c secret "ac$S"
AC_ID=$(val id) AC_SECRET=$(val secret)
check -m "ac$S" "application credential list" as_user "$NEWPW" openstack application credential list
check -m '^id=' "auth with application credential" \
  envauth OS_AUTH_TYPE=v3applicationcredential OS_APPLICATION_CREDENTIAL_ID="$AC_ID" \
  OS_APPLICATION_CREDENTIAL_SECRET="$AC_SECRET" openstack token issue -f shell -c id
check -x "application credential with wrong secret fails" \
  envauth OS_AUTH_TYPE=v3applicationcredential OS_APPLICATION_CREDENTIAL_ID="$AC_ID" \
  OS_APPLICATION_CREDENTIAL_SECRET=wrong openstack token issue -f shell -c id

# --- regions, services, endpoints ------------------------------------------------------------
RG=region$S
check "region create" os region create --description "e2e region" "$RG"
check -m "$RG" "region list" os region list
check -m 'e2e region' "region show" os region show "$RG"
check "region set" os region set --description changed "$RG"
SV=svc$S
check -m '^id=".+' "service create" os service create -f shell -c id --name "$SV" --description "e2e service" "type$S"
SV_ID=$(val id)
check -m "$SV" "service list" os service list
check -m 'e2e service' "service show" os service show "$SV_ID"
check "service set" os service set --description changed "$SV_ID"
check -m '^id=".+' "endpoint create" os endpoint create -f shell -c id --region "$RG" "$SV_ID" public "http://127.0.0.1:9/$S"
EP=$(val id)
check -m "$EP" "endpoint list" os endpoint list --service "$SV_ID"
check -m "127.0.0.1:9/$S" "endpoint show" os endpoint show "$EP"
check "endpoint set" os endpoint set --url "http://127.0.0.1:9/$S-v2" "$EP"
check -m "$S-v2" "endpoint show after set" os endpoint show "$EP"

# --- limits ---------------------------------------------------------------------------------------
check "registered limit create" \
  os registered limit create --service "$SV_ID" --region "$RG" --default-limit 10 "widgets$S"
check -m "widgets$S" "registered limit list" os registered limit list
check "limit create" \
  os limit create --project "$P" --service "$SV_ID" --region "$RG" --resource-limit 5 "widgets$S"
check -m "widgets$S" "limit list" os limit list --project "$P"

# --- raw API error handling ------------------------------------------------------------------------
H=(-H "X-Auth-Token: $ADMIN_TOKEN")
check -m '^HTTP 400$' -m '"code": *400' -m '"title": *"Bad Request"' -m '"message": *"' \
  "malformed JSON -> 400 Keystone error" api POST /v3/projects '{"project": {"name": ' "${H[@]}"
check -m '^HTTP 400$' -m "$KEYSTONE_ERROR" "schema violation -> 400" \
  api POST /v3/projects '{"project": {"name": 42}}' "${H[@]}"
check -m '^HTTP 404$' -m '"code": *404' -m '"title": *"Not Found"' "unknown project id -> 404" \
  api GET /v3/projects/0123456789abcdef0123456789abcdef "" "${H[@]}"
check -m '^HTTP 404$' "unknown user id -> 404" api GET /v3/users/0123456789abcdef0123456789abcdef "" "${H[@]}"
check -m '^HTTP 409$' -m '"code": *409' -m '"title": *"Conflict"' "duplicate user name -> 409" \
  api POST /v3/users "{\"user\": {\"name\": \"$U\", \"domain_id\": \"default\"}}" "${H[@]}"
check -m '^HTTP 401$' -m '"code": *401' "wrong password -> 401" \
  api POST /v3/auth/tokens "$(password_auth "$U" wrong-password)"
BODY_KNOWN=$(sed '$d' <<<"$OUT")
check -m '^HTTP 401$' "unknown user -> 401" api POST /v3/auth/tokens "$(password_auth "nosuch$S" wrong-password)"
BODY_UNKNOWN=$(sed '$d' <<<"$OUT")
check "wrong password and unknown user give the same body" test "$BODY_KNOWN" = "$BODY_UNKNOWN"
check -m '^HTTP 401$' -m "$KEYSTONE_ERROR" "garbage token -> 401" api GET /v3/projects '' -H 'X-Auth-Token: garbage'
check -m '^HTTP 401$' "no token -> 401" api GET /v3/projects
check -m '^HTTP 40[34]$' "non-admin cannot list users" \
  api GET /v3/users '' -H "X-Auth-Token: $(as_user "$NEWPW" openstack token issue -f value -c id 2>/dev/null)"

# --- deletes ----------------------------------------------------------------------------------------
check "limit delete" os limit delete "$(os limit list --project "$P" -f value -c ID 2>/dev/null | head -1)"
check "registered limit delete" \
  os registered limit delete "$(os registered limit list --service "$SV_ID" -f value -c ID 2>/dev/null | head -1)"
check "endpoint delete" os endpoint delete "$EP"
check "service delete" os service delete "$SV_ID"
check "region delete" os region delete "$RG"
check "application credential delete" as_user "$NEWPW" openstack application credential delete "ac$S"
check "role delete" os role delete "$R" "$RI"
check "group delete" os group delete "$G"
check "user delete" os user delete "$U"
check -x "deleted user is gone" os user show "$U"
check "project delete (child, then parent)" os project delete "$P-child" "$P"
check -x "deleted project is gone" os project show "$P"
check "domain disable" os domain set --disable "$D"
check "domain delete" os domain delete "$D"

finish
