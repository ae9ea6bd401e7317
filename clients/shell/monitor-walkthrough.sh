#!/usr/bin/env bash
# Azure Monitor with curl, default settings: a reader app gets Log Analytics Reader on a
# workspace and a publisher app Monitoring Metrics Publisher on its resource group. The
# reader's query is refused (403 InsufficientAccessError) until the emulator clock passes the
# propagation delay; the publisher uploads rows through the Logs Ingestion API (a Direct data
# collection rule) that the reader then queries, posts a custom metric and reads it back.
#
# Usage: clients/shell/monitor-walkthrough.sh CONNECTION_FILE   (written by --connection-file;
# HTTPS, the default). Needs curl, jq, od and sed.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
B=$(jq -r .base_url "$conn") T=$(jq -r .tenant_id "$conn") S=$(jq -r .subscription_id "$conn")
ID=$(jq -r .admin.client_id "$conn") KEY=$(jq -r .admin.client_secret "$conn")
CA=$(jq -r .ca_cert_path "$conn")

uuid() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n' |
  sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12})$/\1-\2-4\3-8\4-\5/'; }
tok() { curl -sS --cacert "$CA" "$B/$T/oauth2/v2.0/token" -d grant_type=client_credentials \
  -d "client_id=$1" --data-urlencode "client_secret=$2" --data-urlencode "scope=$3/.default" |
  jq -r .access_token; }
# call METHOD PATH TOKEN [JSON]: prints the status; the body is in $OUT.
OUT=$(mktemp); trap 'rm -f "$OUT"' EXIT
call() { curl -sS --cacert "$CA" -o "$OUT" -w '%{http_code}' -X "$1" "$B$2" \
  -H "Authorization: Bearer $3" -H content-type:application/json ${4:+-d "$4"}; }
arm() { call "$@" >/dev/null; cat "$OUT"; }
advance() { curl -sS --cacert "$CA" "$B/_emulator/clock/advance" -d "{\"seconds\":$1}" >/dev/null; }

ADMIN=$(tok "$ID" "$KEY" https://management.azure.com)
GRAPH=$(tok "$ID" "$KEY" https://graph.microsoft.com)
# new_app NAME: registers an app with a secret and a service principal; sets APP, SECRET, SP.
new_app() {
  APP=$(arm POST /v1.0/applications "$GRAPH" "{\"displayName\":\"$1\"}" | jq -r .appId)
  SECRET=$(arm POST "/v1.0/applications(appId='$APP')/addPassword" "$GRAPH" '{}' | jq -r .secretText)
  SP=$(arm POST /v1.0/servicePrincipals "$GRAPH" "{\"appId\":\"$APP\"}" | jq -r .id)
}
new_app reader;    READER_APP=$APP    READER_SECRET=$SECRET    READER_SP=$SP
new_app publisher; PUBLISHER_APP=$APP PUBLISHER_SECRET=$SECRET PUBLISHER_SP=$SP
# grant SCOPE ROLE_ID PRINCIPAL
grant() { arm PUT "$1/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=2022-04-01" \
  "$ADMIN" "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$S/providers/Microsoft.Authorization/roleDefinitions/$2\",\"principalId\":\"$3\",\"principalType\":\"ServicePrincipal\"}}" >/dev/null; }

# A resource group with a workspace, a data collection rule that sends the Custom-Orders
# stream to it, and a web site to hang custom metrics on.
RG=/subscriptions/$S/resourceGroups/mon
arm PUT "$RG?api-version=2022-09-01" "$ADMIN" '{"location":"eastus"}' >/dev/null
WS=$(arm PUT "$RG/providers/Microsoft.OperationalInsights/workspaces/logs?api-version=2022-10-01" "$ADMIN" '{"location":"eastus"}')
WS_ID=$(jq -r .id <<<"$WS") CUSTOMER=$(jq -r .properties.customerId <<<"$WS")
RULE=$(arm PUT "$RG/providers/Microsoft.Insights/dataCollectionRules/orders?api-version=2023-03-11" "$ADMIN" '{
  "location":"eastus","kind":"Direct","properties":{
  "streamDeclarations":{"Custom-Orders":{"columns":[{"name":"TimeGenerated","type":"datetime"},
    {"name":"Item","type":"string"},{"name":"Quantity","type":"int"}]}},
  "destinations":{"logAnalytics":[{"name":"la","workspaceResourceId":"'"$WS_ID"'"}]},
  "dataFlows":[{"streams":["Custom-Orders"],"destinations":["la"],"transformKql":"source",
    "outputStream":"Custom-Orders_CL"}]}}' | jq -r .properties.immutableId)
SITE=$(arm PUT "$RG/providers/Microsoft.Web/sites/shop?api-version=2023-01-01" "$ADMIN" '{"location":"eastus"}' | jq -r .id)

# Log Analytics Reader on the workspace, Monitoring Metrics Publisher on the group.
grant "$WS_ID" 73c42c96-874c-492b-b04d-ab87d138a893 "$READER_SP"
grant "$RG" 3913510d-42f4-4e42-8a64-420c390055eb "$PUBLISHER_SP"
LA=$(tok "$READER_APP" "$READER_SECRET" https://api.loganalytics.io)
query() { call POST "/v1/workspaces/$CUSTOMER/query" "$LA" "{\"query\":\"$1\"}"; }
echo "1. reader queries before the delay: $(query 'Orders_CL | count') $(jq -r .error.code "$OUT")"

advance 601   # past the 10 minutes both planes take by default
IN=$(tok "$PUBLISHER_APP" "$PUBLISHER_SECRET" https://monitor.azure.com)
echo "2. publisher uploads two rows: $(call POST "/dataCollectionRules/$RULE/streams/Custom-Orders?api-version=2023-01-01" \
  "$IN" '[{"Item":"apple","Quantity":3},{"Item":"pear","Quantity":2}]')"
echo "3. reader queries after the delay: $(query 'Orders_CL | project Item, Quantity') $(jq -c '.tables[0].rows' "$OUT")"

# A custom metric (its audience keeps the trailing slash), then Monitoring Reader on the site
# so that the publisher can read it back through ARM.
M=$(tok "$PUBLISHER_APP" "$PUBLISHER_SECRET" https://monitoring.azure.com/)
NOW=$(curl -sS --cacert "$CA" "$B/_emulator/clock" | jq -r .now)
echo "4. publisher posts a custom metric: $(call POST "$SITE/metrics" "$M" '{"time":"'"$NOW"'","data":{"baseData":{
  "metric":"Latency","namespace":"Shop","dimNames":["Route"],
  "series":[{"dimValues":["/cart"],"min":4,"max":16,"sum":40,"count":4}]}}}')"
grant "$SITE" 43d0d8ad-25c7-4714-9337-8ba259a9fe05 "$PUBLISHER_SP"
advance 601
READ=$(tok "$PUBLISHER_APP" "$PUBLISHER_SECRET" https://management.azure.com)
status=$(call GET "$SITE/providers/Microsoft.Insights/metrics?api-version=2023-10-01&metricnames=Latency&metricnamespace=Shop&timespan=PT30M&aggregation=average,count" "$READ")
echo "5. publisher reads it back: $status $(jq -c '[.value[0].timeseries[0].data[] | select(.count > 0)]' "$OUT")"
