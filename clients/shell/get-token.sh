#!/usr/bin/env bash
# The README's first request: a token for the bootstrap admin with curl, then the signing keys
# to verify it with. Every value below is the emulator's documented default.
#
# Usage: clients/shell/get-token.sh [BASE_URL] [CA_FILE]
#   defaults: https://127.0.0.1:8443 and the CA file the emulator writes for that port
# Needs curl.
set -euo pipefail
BASE=${1:-https://127.0.0.1:8443}
CA=${2:-${TMPDIR:-/tmp}/entra-emulator-8443/ca.pem}   # the banner's "CA cert:" line

TENANT=e17a0000-0000-4000-8000-000000000001
curl -sS --cacert "$CA" "$BASE/$TENANT/oauth2/v2.0/token" \
  -d grant_type=client_credentials \
  -d client_id=e17a0000-0000-4000-8000-000000000003 \
  --data-urlencode client_secret='admQ~EntraEmulatorBootstrapAdminSecret00' \
  --data-urlencode scope=https://graph.microsoft.com/.default
echo
curl -sS --cacert "$CA" "$BASE/$TENANT/discovery/v2.0/keys"   # the JWKS that verifies it
echo
