#!/usr/bin/env bash
# The Azure CLI, unmodified, against a running emulator: register the emulator as a cloud,
# sign in as the bootstrap admin, manage groups, apps, secrets, service principals and role
# assignments, then sign in as a new service principal and watch a role assignment
# propagate (403, clock advanced, 200).
#
# Usage: clients/azure-cli/az-flow.sh CONNECTION_FILE    (needs az, curl and jq on PATH)
# Each step prints "ok <step>"; the first failing check exits non-zero.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
base=$(jq -r .base_url "$conn") tenant=$(jq -r .tenant_id "$conn") sub=$(jq -r .subscription_id "$conn")
export REQUESTS_CA_BUNDLE=$(jq -r .ca_cert_path "$conn")
export AZURE_CONFIG_DIR=${AZURE_CONFIG_DIR:-$(mktemp -d)}
export AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_ONLY_SHOW_ERRORS=true
ok() { echo "ok $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

az cloud register -n Emulator --endpoint-resource-manager "$base/" >/dev/null
az cloud set -n Emulator
az config set core.instance_discovery=false >/dev/null 2>&1
ok "cloud registered from $base/metadata/endpoints"

az login --service-principal -u "$(jq -r .admin.client_id "$conn")" -p "$(jq -r .admin.client_secret "$conn")" \
  --tenant "$tenant" >/dev/null
[ "$(az account show --query id -o tsv)" = "$sub" ] || fail "az account show"
ok "login as the bootstrap admin"

rg=$(az group create -n cli-rg -l westeurope -o json)
[ "$(jq -r .properties.provisioningState <<<"$rg")" = Succeeded ] || fail "group create: $rg"
az group list --query "[].name" -o tsv | grep -qx cli-rg || fail "group list"
ok "group create/list"

# An unregistered provider: the CLI meets MissingSubscriptionRegistration, registers the
# provider itself ("We are registering for you"), waits for Registered and retries.
az provider unregister --namespace Microsoft.OperationalInsights >/dev/null
[ "$(az provider show -n Microsoft.OperationalInsights --query registrationState -o tsv)" = NotRegistered ] || fail "provider unregister"
# (warnings are shown for this one command: the CLI says it is registering as a warning)
ws=$(AZURE_CORE_ONLY_SHOW_ERRORS=false az monitor log-analytics workspace create -g cli-rg -n cli-ws -o json 2>/tmp/az-ws-err.$$) || fail "workspace create after auto-registration: $(cat /tmp/az-ws-err.$$)"
grep -q 'registering for you' /tmp/az-ws-err.$$ || fail "no auto-registration: $(cat /tmp/az-ws-err.$$)"
rm -f /tmp/az-ws-err.$$
[ "$(jq -r .name <<<"$ws")" = cli-ws ] || fail "workspace create: $ws"
[ "$(az provider show -n Microsoft.OperationalInsights --query registrationState -o tsv)" = Registered ] || fail "provider registered by the CLI"
ok "provider unregister, then the CLI registers it on MissingSubscriptionRegistration"

app=$(az ad app create --display-name cli-app -o json)
app_id=$(jq -r .appId <<<"$app")
cred=$(az ad app credential reset --id "$app_id" -o json 2>/dev/null)
[ "$(jq -r .appId <<<"$cred")" = "$app_id" ] && [ "$(jq -r '.password | length' <<<"$cred")" = 40 ] || fail "credential reset: $cred"
hint=$(az ad app show --id "$app_id" --query "passwordCredentials[0].hint" -o tsv)
[ "$hint" = "$(jq -r .password <<<"$cred" | cut -c1-3)" ] || fail "hint after reset"
sp=$(az ad sp create --id "$app_id" -o json)
sp_id=$(jq -r .id <<<"$sp")
ok "ad app create, credential reset, sp create"

rbac=$(az ad sp create-for-rbac -n cli-rbac --role Reader --scopes "/subscriptions/$sub/resourceGroups/cli-rg" -o json 2>/dev/null)
[ "$(jq -c 'keys' <<<"$rbac")" = '["appId","displayName","password","tenant"]' ] || fail "create-for-rbac output: $(jq -c 'del(.password)' <<<"$rbac")"
[ "$(jq -r .tenant <<<"$rbac")" = "$tenant" ] || fail "create-for-rbac tenant"
ok "create-for-rbac --role Reader --scopes"

scope="/subscriptions/$sub/resourceGroups/cli-rg"
az role assignment create --assignee-object-id "$sp_id" --assignee-principal-type ServicePrincipal \
  --role Contributor --scope "$scope" >/dev/null
names=$(az role assignment list --scope "$scope" --query "[].roleDefinitionName" -o tsv | sort | tr '\n' ' ')
[ "$names" = "Contributor Reader " ] || fail "role assignment list: $names"
az role assignment delete --assignee "$sp_id" --role Contributor --scope "$scope"
[ "$(az role assignment list --scope "$scope" --query "length(@)" -o tsv)" = 1 ] || fail "role assignment delete"
ok "role assignment create/list/delete"

# All services share the emulator's one URL, so tell `az rest` which resource to ask a token for.
apps=$(az rest --method get --url "$base/v1.0/applications?\$filter=displayName eq 'cli-app'" \
  --resource https://graph.microsoft.com --query "value[0].appId" -o tsv)
[ "$apps" = "$app_id" ] || fail "az rest against Graph: $apps"
ok "az rest against Graph"

az logout
sp_login() {
  az login --service-principal -u "$(jq -r .appId <<<"$rbac")" -p "$(jq -r .password <<<"$rbac")" \
    --tenant "$tenant" --allow-no-subscriptions >/dev/null
}
sp_login
# Until the assignment has propagated the subscription is not listed, and ARM refuses the read.
group_url="$base/subscriptions/$sub/resourceGroups/cli-rg?api-version=2022-09-01"
arm_token=$(az account get-access-token --tenant "$tenant" --resource https://management.azure.com/ --query accessToken -o tsv)
out=$(curl -sS --cacert "$REQUESTS_CA_BUNDLE" -w ' %{http_code}' -H "Authorization: Bearer $arm_token" "$group_url")
grep -q 'AuthorizationFailed.* 403$' <<<"$out" || fail "expected 403 AuthorizationFailed: $out"
curl -sS --cacert "$REQUESTS_CA_BUNDLE" "$base/_emulator/clock/advance" -d '{"seconds": 601}' >/dev/null
sp_login
[ "$(az group show -n cli-rg --subscription "$sub" --query name -o tsv)" = cli-rg ] || fail "read after propagation"
ok "new service principal: 403 AuthorizationFailed, then 200 after the ARM delay"
