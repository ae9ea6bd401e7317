#!/usr/bin/env bash
# Fault injection with curl: a rule makes Graph writes answer 429 at random for five minutes
# of emulator time; ten app registrations show which were throttled, the rule's counters agree,
# and once the clock passes the rule's duration writes succeed again.
#
# Usage: clients/shell/fault-injection.sh CONNECTION_FILE   (written by --connection-file;
# HTTPS, the default). Needs curl and jq.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
BASE=$(jq -r .base_url "$conn") TENANT=$(jq -r .tenant_id "$conn") CA=$(jq -r .ca_cert_path "$conn")
TOKEN=$(curl -sS --cacert "$CA" "$BASE/$TENANT/oauth2/v2.0/token" -d grant_type=client_credentials \
  -d client_id="$(jq -r .admin.client_id "$conn")" \
  --data-urlencode client_secret="$(jq -r .admin.client_secret "$conn")" \
  --data-urlencode scope=https://graph.microsoft.com/.default | jq -r .access_token)
register() { curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$BASE/v1.0/applications" \
  -H "Authorization: Bearer $TOKEN" -H content-type:application/json -d '{"displayName":"retry-me"}'; }

# Each Graph POST answers 429 (Retry-After: 1) with probability 0.5, drawn from seed 7 (so
# the same requests fail on every run), for the next 5 minutes of emulator time.
curl -sS --cacert "$CA" "$BASE/_emulator/faults" -H content-type:application/json -d '{
  "service": "graph", "method": "POST", "fault": "throttle",
  "retryAfter": 1, "rate": 0.5, "seed": 7, "duration": "5m"}'
echo
echo "ten registrations: $(for _ in $(seq 10); do printf '%s ' "$(register)"; done)"
curl -sS --cacert "$CA" "$BASE/_emulator/faults" | jq -c '.rules[] | {matched, fired, active}'
curl -sS --cacert "$CA" "$BASE/_emulator/clock/advance" -d '{"seconds":301}' >/dev/null
echo "after five minutes: $(register)"
