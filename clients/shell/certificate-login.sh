#!/usr/bin/env bash
# Certificate login with curl and openssl: make a self-signed certificate, register it on a new
# application (Graph keyCredentials), sign a client assertion with its key (RS256, x5t = the
# certificate's SHA-1 thumbprint, aud = the token endpoint), exchange it for a token, call ARM.
#
# Usage: clients/shell/certificate-login.sh CONNECTION_FILE   (written by --connection-file;
# HTTPS, the default). Needs curl, jq and openssl.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
BASE=$(jq -r .base_url "$conn") TENANT=$(jq -r .tenant_id "$conn") CA=$(jq -r .ca_cert_path "$conn")
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
claims() { local p; p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+'); while (( ${#p} % 4 )); do p+='='; done
  base64 -d <<<"$p"; }
ADMIN=$(curl -sS --cacert "$CA" "$BASE/$TENANT/oauth2/v2.0/token" -d grant_type=client_credentials \
  -d client_id="$(jq -r .admin.client_id "$conn")" \
  --data-urlencode client_secret="$(jq -r .admin.client_secret "$conn")" \
  --data-urlencode scope=https://graph.microsoft.com/.default | jq -r .access_token)

# 1. A certificate and its key, as `az ad sp create-for-rbac --create-cert` makes one.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 365 -subj /CN=recipe-login 2>/dev/null
KEY=$(openssl x509 -in "$work/cert.pem" -outform der | openssl base64 -A)

# 2. An application holding the certificate's public key, and its service principal.
APP=$(curl -sS --cacert "$CA" "$BASE/v1.0/applications" -H "Authorization: Bearer $ADMIN" \
  -H content-type:application/json -d "{\"displayName\": \"recipe-cert\", \"keyCredentials\": [
    {\"type\": \"AsymmetricX509Cert\", \"usage\": \"Verify\", \"key\": \"$KEY\"}]}")
CLIENT_ID=$(jq -r .appId <<<"$APP")
curl -sS --cacert "$CA" "$BASE/v1.0/servicePrincipals" -H "Authorization: Bearer $ADMIN" \
  -H content-type:application/json -d "{\"appId\": \"$CLIENT_ID\"}" >/dev/null
echo "1. registered: $(jq -c '.keyCredentials[0] | {customKeyIdentifier, displayName, key}' <<<"$APP")"

# 3. The client assertion: header and claims, signed with the private key.
ENDPOINT="$BASE/$TENANT/oauth2/v2.0/token"
X5T=$(openssl x509 -in "$work/cert.pem" -outform der | openssl dgst -sha1 -binary | b64url)
NOW=$(date +%s)
HEADER=$(printf '{"alg":"RS256","typ":"JWT","x5t":"%s"}' "$X5T" | b64url)
CLAIMS=$(printf '{"aud":"%s","iss":"%s","sub":"%s","jti":"%s","nbf":%d,"exp":%d}' \
  "$ENDPOINT" "$CLIENT_ID" "$CLIENT_ID" "$(openssl rand -hex 16)" "$NOW" $((NOW + 600)) | b64url)
SIGNATURE=$(printf '%s.%s' "$HEADER" "$CLAIMS" | openssl dgst -sha256 -sign "$work/key.pem" | b64url)

# 4. The token request: client_assertion instead of client_secret.
TOKEN=$(curl -sS --cacert "$CA" "$ENDPOINT" -d grant_type=client_credentials -d client_id="$CLIENT_ID" \
  --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  --data-urlencode client_assertion="$HEADER.$CLAIMS.$SIGNATURE" \
  --data-urlencode scope=https://management.azure.com/.default | jq -r .access_token)
echo "2. token: appidacr $(claims "$TOKEN" | jq -r .appidacr)"   # "2": a certificate
echo "3. ARM: $(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' \
  "$BASE/subscriptions?api-version=2022-12-01" -H "Authorization: Bearer $TOKEN")"
