#!/usr/bin/env bash
# The propagation delay with curl, default settings: the admin creates a resource group, an
# app's service principal gets Reader on it, the app's ARM token is refused (403
# AuthorizationFailed) until the emulator clock passes the ARM delay, then reads it (200);
# the same role again under another name is refused (409 RoleAssignmentExists).
#
# Usage: clients/shell/arm-walkthrough.sh CONNECTION_FILE   (written by --connection-file)
# Needs curl and jq.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
B=$(jq -r .base_url "$conn") T=$(jq -r .tenant_id "$conn") S=$(jq -r .subscription_id "$conn")
ID=$(jq -r .admin.client_id "$conn") KEY=$(jq -r .admin.client_secret "$conn")
CA=$(jq -r '.ca_cert_path // ""' "$conn")
c=(curl -sS); [ -n "$CA" ] && c+=(--cacert "$CA")
uuid() { cat /proc/sys/kernel/random/uuid; }
tok() { "${c[@]}" "$B/$T/oauth2/v2.0/token" -d grant_type=client_credentials -d "client_id=$1" \
  --data-urlencode "client_secret=$2" --data-urlencode "scope=$3/.default" | jq -r .access_token; }
call() { "${c[@]}" -o /tmp/walk.$$ -w '%{http_code}' -X "$1" "$B$2" -H "Authorization: Bearer $3" \
  -H content-type:application/json ${4:+-d "$4"}; }
body() { cat /tmp/walk.$$; }
trap 'rm -f /tmp/walk.$$' EXIT

ADMIN=$(tok "$ID" "$KEY" https://management.azure.com)
GRAPH=$(tok "$ID" "$KEY" https://graph.microsoft.com)
echo "1. create group: $(call PUT "/subscriptions/$S/resourcegroups/demo?api-version=2022-09-01" "$ADMIN" '{"location":"eastus"}')"
call POST /v1.0/applications "$GRAPH" '{"displayName":"demo"}' >/dev/null; APP=$(body)
call POST "/v1.0/applications/$(jq -r .id <<<"$APP")/addPassword" "$GRAPH" '{}' >/dev/null; SECRET=$(body | jq -r .secretText)
call POST /v1.0/servicePrincipals "$GRAPH" "{\"appId\":$(jq .appId <<<"$APP")}" >/dev/null; SP=$(body | jq -r .id)
ROLE="/subscriptions/$S/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
GRANT="{\"properties\":{\"roleDefinitionId\":\"$ROLE\",\"principalId\":\"$SP\",\"principalType\":\"ServicePrincipal\"}}"
RA=/subscriptions/$S/resourceGroups/demo/providers/Microsoft.Authorization/roleAssignments
echo "2. Reader for the app: $(call PUT "$RA/$(uuid)?api-version=2022-04-01" "$ADMIN" "$GRANT")"
APPTOK=$(tok "$(jq -r .appId <<<"$APP")" "$SECRET" https://management.azure.com)
echo "3. app reads the group: $(call GET "/subscriptions/$S/resourceGroups/demo?api-version=2022-09-01" "$APPTOK") $(body | jq -r .error.code)"
"${c[@]}" "$B/_emulator/clock/advance" -d '{"seconds":601}' >/dev/null
echo "4. after the ARM delay: $(call GET "/subscriptions/$S/resourceGroups/demo?api-version=2022-09-01" "$APPTOK")"
echo "5. same role again: $(call PUT "$RA/$(uuid)?api-version=2022-04-01" "$ADMIN" "$GRANT") $(body | jq -r .error.code)"
