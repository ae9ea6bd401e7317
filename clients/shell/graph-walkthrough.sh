#!/usr/bin/env bash
# The app-registration flow against a running emulator, with curl:
# register an app, add a secret (its value is shown once), read the app back (value gone,
# hint kept), create its service principal, get a token as the new app, remove the secret,
# and watch the same token request fail with AADSTS7000215.
#
# Usage: clients/shell/graph-walkthrough.sh CONNECTION_FILE   (written by --connection-file)
# Needs curl and jq.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
field() { jq -r "$1"; }

base=$(field '.base_url' <"$conn")
tenant=$(field '.tenant_id' <"$conn")
admin_id=$(field '.admin.client_id' <"$conn")
admin_secret=$(field '.admin.client_secret' <"$conn")
ca=$(field '.ca_cert_path // ""' <"$conn")
curl=(curl -sS)
[ -n "$ca" ] && curl+=(--cacert "$ca")

token() { # client_id secret scope -> JSON answer
  "${curl[@]}" "$base/$tenant/oauth2/v2.0/token" -d grant_type=client_credentials \
    --data-urlencode "client_id=$1" --data-urlencode "client_secret=$2" --data-urlencode "scope=$3"
}
graph() { # method path [json]
  "${curl[@]}" -X "$1" "$base/v1.0$2" -H "Authorization: Bearer $admin_token" \
    -H 'Content-Type: application/json' ${3:+-d "$3"}
}

admin_token=$(token "$admin_id" "$admin_secret" https://graph.microsoft.com/.default | field '.access_token')

app=$(graph POST /applications '{"displayName": "walkthrough-app"}')
app_object_id=$(echo "$app" | field '.id')
app_id=$(echo "$app" | field '.appId')
echo "1. registered app: client id $app_id, object id $app_object_id"

cred=$(graph POST "/applications/$app_object_id/addPassword" '{"passwordCredential": {"displayName": "walkthrough"}}')
secret=$(echo "$cred" | field '.secretText')
key_id=$(echo "$cred" | field '.keyId')
echo "2. new secret, shown once: hint $(echo "$cred" | field '.hint'), key id $key_id"

echo "3. read back: $(graph GET "/applications/$app_object_id" | field '"\(.passwordCredentials[0].secretText) \(.passwordCredentials[0].hint)"')"

sp=$(graph POST /servicePrincipals "{\"appId\": \"$app_id\"}")
echo "4. service principal: object id $(echo "$sp" | field '.id')"

echo "5. token as the app: $(token "$app_id" "$secret" https://management.azure.com/.default | field '"\(.token_type) \(.expires_in)"')"

graph POST "/applications/$app_object_id/removePassword" "{\"keyId\": \"$key_id\"}"
echo "6. secret removed"

refused=$(token "$app_id" "$secret" https://management.azure.com/.default)
echo "7. same token request: $(echo "$refused" | field '"\(.error) \(.error_codes)"')"
echo "$refused" | field '.error_codes[]' | grep -q 7000215
