#!/usr/bin/env bash
# The Azure CLI, unmodified, with certificates and federated tokens against a running emulator:
# `az ad sp create-for-rbac --create-cert`, `az login --service-principal --certificate`,
# `az ad app credential reset --create-cert --append`, `az ad app federated-credential create`
# and `az login --federated-token` with a token of the emulator's test issuer.
#
# Usage: clients/azure-cli/az-cred-flow.sh CONNECTION_FILE    (needs az, curl and jq on PATH)
# Each step prints "ok <step>"; the first failing check exits non-zero.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
base=$(jq -r .base_url "$conn") tenant=$(jq -r .tenant_id "$conn")
export REQUESTS_CA_BUNDLE=$(jq -r .ca_cert_path "$conn")
export AZURE_CONFIG_DIR=${AZURE_CONFIG_DIR:-$(mktemp -d)}
export AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_ONLY_SHOW_ERRORS=true
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
ok() { echo "ok $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
claim() { local p; p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+'); while (( ${#p} % 4 )); do p+='='; done
  base64 -d <<<"$p" | jq -r ".$2"; }
admin_login() {
  az login --service-principal -u "$(jq -r .admin.client_id "$conn")" -p "$(jq -r .admin.client_secret "$conn")" \
    --tenant "$tenant" >/dev/null
}

az cloud register -n Emulator --endpoint-resource-manager "$base/" >/dev/null
az cloud set -n Emulator
az config set core.instance_discovery=false >/dev/null 2>&1
admin_login
ok "login as the bootstrap admin"

# create-for-rbac --create-cert: the CLI makes the certificate, registers it inline and writes
# the key and certificate to a PEM file it names in its output.
rbac=$(cd "$work" && HOME="$work" az ad sp create-for-rbac -n cli-cert --create-cert -o json 2>/dev/null)
pem=$(jq -r .fileWithCertAndPrivateKey <<<"$rbac")
app_id=$(jq -r .appId <<<"$rbac")
[ -f "$pem" ] && [ "$(jq -r .password <<<"$rbac")" = null ] || fail "create-for-rbac --create-cert: $rbac"
thumb=$(openssl x509 -in "$pem" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)
[ "$(az ad app show --id "$app_id" --query "keyCredentials[0].customKeyIdentifier" -o tsv)" = "$thumb" ] \
  || fail "keyCredentials read back by thumbprint"
ok "create-for-rbac --create-cert"

az ad app credential reset --id "$app_id" --create-cert --append -o none 2>/dev/null
[ "$(az ad app credential list --id "$app_id" --cert --query "length(@)" -o tsv)" = 2 ] || fail "reset --append"
ok "credential reset --create-cert --append keeps the first certificate"

az logout
az login --service-principal -u "$app_id" --certificate "$pem" --tenant "$tenant" --allow-no-subscriptions >/dev/null
token=$(az account get-access-token --tenant "$tenant" --resource https://management.azure.com/ --query accessToken -o tsv)
[ "$(claim "$token" appid)" = "$app_id" ] && [ "$(claim "$token" appidacr)" = 2 ] || fail "certificate token"
code=$(curl -sS --cacert "$REQUESTS_CA_BUNDLE" -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $token" "$base/subscriptions?api-version=2022-12-01")
[ "$code" = 200 ] || fail "ARM with the certificate token: $code"
ok "login --service-principal --certificate, then ARM"

az logout
admin_login
issuer=$(curl -sS --cacert "$REQUESTS_CA_BUNDLE" "$base/_emulator/issuer/.well-known/openid-configuration" | jq -r .issuer)
fed_app=$(az ad app create --display-name cli-federated --query appId -o tsv)
az ad sp create --id "$fed_app" -o none
jq -n --arg issuer "$issuer" '{name: "github-main", issuer: $issuer,
  subject: "repo:org/repo:ref:refs/heads/main", audiences: ["api://AzureADTokenExchange"]}' >"$work/fic.json"
az ad app federated-credential create --id "$fed_app" --parameters "$work/fic.json" -o none
[ "$(az ad app federated-credential list --id "$fed_app" --query "[0].subject" -o tsv)" = "repo:org/repo:ref:refs/heads/main" ] \
  || fail "federated-credential list"
ok "ad app federated-credential create/list"

oidc=$(curl -sS --cacert "$REQUESTS_CA_BUNDLE" "$base/_emulator/issuer/token" -H content-type:application/json \
  -d '{"subject": "repo:org/repo:ref:refs/heads/main"}' | jq -r .token)
az logout
az login --service-principal -u "$fed_app" --tenant "$tenant" --federated-token "$oidc" --allow-no-subscriptions >/dev/null
token=$(az account get-access-token --tenant "$tenant" --resource https://management.azure.com/ --query accessToken -o tsv)
[ "$(claim "$token" appid)" = "$fed_app" ] || fail "federated token"
ok "login --federated-token"
