#!/usr/bin/env bash
# GitHub Actions OIDC, offline: trust the emulator's test issuer for one repository's main
# branch (a federated identity credential), mint the token GitHub would give the workflow,
# exchange it for an Entra token as azure/login does, and call ARM. Then a pull request's
# token is refused with AADSTS700213.
#
# Usage: clients/shell/github-actions-oidc.sh CONNECTION_FILE   (written by --connection-file;
# HTTPS, the default). Needs curl and jq.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
BASE=$(jq -r .base_url "$conn") TENANT=$(jq -r .tenant_id "$conn") CA=$(jq -r .ca_cert_path "$conn")
ADMIN=$(curl -sS --cacert "$CA" "$BASE/$TENANT/oauth2/v2.0/token" -d grant_type=client_credentials \
  -d client_id="$(jq -r .admin.client_id "$conn")" \
  --data-urlencode client_secret="$(jq -r .admin.client_secret "$conn")" \
  --data-urlencode scope=https://graph.microsoft.com/.default | jq -r .access_token)
graph() { curl -sS --cacert "$CA" "$BASE/v1.0/$1" -H "Authorization: Bearer $ADMIN" \
  -H content-type:application/json -d "$2"; }

# 1. The test issuer's URL (its discovery document is public), and an application trusting it
#    for repo:org/repo on refs/heads/main.
ISSUER=$(curl -sS --cacert "$CA" "$BASE/_emulator/issuer/.well-known/openid-configuration" | jq -r .issuer)
APP=$(graph applications '{"displayName": "recipe-gha"}')
CLIENT_ID=$(jq -r .appId <<<"$APP")
graph servicePrincipals "{\"appId\": \"$CLIENT_ID\"}" >/dev/null
graph "applications/$(jq -r .id <<<"$APP")/federatedIdentityCredentials" "{
  \"name\": \"main\", \"issuer\": \"$ISSUER\", \"subject\": \"repo:org/repo:ref:refs/heads/main\",
  \"audiences\": [\"api://AzureADTokenExchange\"]}" | jq -c '{name, subject, audiences}'

# 2. The workflow's OIDC token (what ACTIONS_ID_TOKEN_REQUEST_URL would return), minted by
#    the control API.
mint() { curl -sS --cacert "$CA" "$BASE/_emulator/issuer/token" -H content-type:application/json \
  -d "{\"subject\": \"$1\", \"claims\": {\"repository\": \"org/repo\"}}" | jq -r .token; }
OIDC=$(mint repo:org/repo:ref:refs/heads/main)

# 3. azure/login's exchange: the OIDC token as the client assertion.
exchange() { curl -sS --cacert "$CA" "$BASE/$TENANT/oauth2/v2.0/token" -d grant_type=client_credentials \
  -d client_id="$CLIENT_ID" \
  --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  --data-urlencode client_assertion="$1" --data-urlencode scope=https://management.azure.com/.default; }
TOKEN=$(exchange "$OIDC" | jq -r .access_token)
echo "ARM with the exchanged token: $(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' \
  "$BASE/subscriptions?api-version=2022-12-01" -H "Authorization: Bearer $TOKEN")"

# 4. A pull request's token matches no federated credential.
exchange "$(mint repo:org/repo:pull_request)" | jq -r '.error_codes[0]'
