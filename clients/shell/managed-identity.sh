#!/usr/bin/env bash
# Managed identity in a local test, with curl: the admin creates a resource group, a
# user-assigned identity and a web app with a system-assigned identity, makes the app the
# host the caller runs on, and gives the app's identity Reader on the group. A program then
# gets tokens the way it does on Azure: from IMDS (Metadata: true) and from App Service's
# IDENTITY_ENDPOINT (X-IDENTITY-HEADER), and reads the group through ARM.
#
# Usage: clients/shell/managed-identity.sh CONNECTION_FILE   (written by --connection-file)
# Needs curl and jq.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
B=$(jq -r .base_url "$conn") T=$(jq -r .tenant_id "$conn") S=$(jq -r .subscription_id "$conn")
ID=$(jq -r .admin.client_id "$conn") KEY=$(jq -r .admin.client_secret "$conn")
CA=$(jq -r '.ca_cert_path // ""' "$conn")
c=(curl -sS); [ -n "$CA" ] && c+=(--cacert "$CA")
ADMIN=$("${c[@]}" "$B/$T/oauth2/v2.0/token" -d grant_type=client_credentials -d "client_id=$ID" \
  --data-urlencode "client_secret=$KEY" -d scope=https://management.azure.com/.default | jq -r .access_token)
arm() { "${c[@]}" -X "$1" "$B$2" -H "Authorization: Bearer $ADMIN" -H content-type:application/json ${3:+-d "$3"}; }
RG=/subscriptions/$S/resourceGroups/mi-demo

arm PUT "$RG?api-version=2021-04-01" '{"location":"westeurope"}' >/dev/null
UAI=$(arm PUT "$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/worker?api-version=2023-01-31" \
  '{"location":"westeurope"}')
echo "1. user-assigned identity: $(jq -c '.properties | keys' <<<"$UAI")"
UAI_ID=$(jq -r .id <<<"$UAI")
SITE="$RG/providers/Microsoft.Web/sites/web"
WEB=$(arm PUT "$SITE?api-version=2022-03-01" "{\"location\":\"westeurope\",\"identity\":{\"type\":\"SystemAssigned, UserAssigned\",\"userAssignedIdentities\":{\"$UAI_ID\":{}}}}")
PRINCIPAL=$(jq -r .identity.principalId <<<"$WEB")
echo "2. web app identity: $(jq -r .identity.type <<<"$WEB")"
# The caller runs on the web app: IMDS serves its identities, the system-assigned one by default.
"${c[@]}" -X PUT "$B/_emulator/managed-identity" -H content-type:application/json -d "{\"host\":\"$SITE\"}" >/dev/null
ROLE="/subscriptions/$S/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
arm PUT "$RG/providers/Microsoft.Authorization/roleAssignments/$(cat /proc/sys/kernel/random/uuid)?api-version=2022-04-01" \
  "{\"properties\":{\"roleDefinitionId\":\"$ROLE\",\"principalId\":\"$PRINCIPAL\",\"principalType\":\"ServicePrincipal\"}}" >/dev/null
"${c[@]}" "$B/_emulator/clock/advance" -d '{"seconds":601}' >/dev/null

# What the program does, on a VM (IMDS) ...
MI=$("${c[@]}" -H Metadata:true "$B/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/")
echo "3. IMDS token: expires_in $(jq -r .expires_in <<<"$MI")"
# ... and on App Service or Functions (IDENTITY_ENDPOINT, IDENTITY_HEADER).
INFO=$("${c[@]}" "$B/_emulator/managed-identity")
IDENTITY_ENDPOINT=$(jq -r .identityEndpoint <<<"$INFO") IDENTITY_HEADER=$(jq -r .identityHeader <<<"$INFO")
AS=$("${c[@]}" -H "X-IDENTITY-HEADER: $IDENTITY_HEADER" \
  "$IDENTITY_ENDPOINT?api-version=2019-08-01&resource=https://management.azure.com/&client_id=$(jq -r .properties.clientId <<<"$UAI")")
echo "4. App Service token for the user-assigned identity: $(jq -r .token_type <<<"$AS")"
CODE=$("${c[@]}" -o /dev/null -w '%{http_code}' "$B$RG?api-version=2021-04-01" -H "Authorization: Bearer $(jq -r .access_token <<<"$MI")")
echo "5. the web app's identity reads the group: $CODE"
