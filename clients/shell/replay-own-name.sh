#!/usr/bin/env bash
# A tool that names its own app, checked against a recording: against
# `entra-emulator --replay fixtures/emulator/create_for_rbac_without_role.json`, create an
# application the way `az ad sp create-for-rbac` does, but with this tool's own display name.
# The default matcher compares bodies, so the playback answers 404 RecordingNotFound; with a
# matcher that leaves the display name out, it answers the recorded 201, the name echoed.
#
# Usage: clients/shell/replay-own-name.sh CONNECTION_FILE   (of the --replay emulator)
# Needs curl and jq.
set -euo pipefail
conn=${1:?usage: $0 CONNECTION_FILE}
base=$(jq -r '.base_url' <"$conn")
ca=$(jq -r '.ca_cert_path // ""' <"$conn")
curl=(curl -sS)
[ -n "$ca" ] && curl+=(--cacert "$ca")
name="my-tool-$(date +%s)"

create() {
  "${curl[@]}" -w '\n%{http_code}' "$base/v1.0/applications" -H 'Content-Type: application/json' \
    -d "{\"displayName\": \"$name\", \"keyCredentials\": []}"
}
matcher() { # the control API body
  "${curl[@]}" "$base/_emulator/replay/matcher" -H 'Content-Type: application/json' -d "$1" | jq -r '.name'
}

echo "1. matcher: $(matcher '{"matcher": "DefaultMatcher"}')"
answer=$(create)
echo "2. own name, default matcher: $(tail -n1 <<<"$answer") $(head -n1 <<<"$answer" | jq -r '.error.code')"
echo "3. matcher: $(matcher '{"matcher": "JsonBodyMatcher", "ignoredBodyFields": "displayName"}')"
answer=$(create)
status=$(tail -n1 <<<"$answer")
echoed=$(head -n1 <<<"$answer" | jq -r '.displayName')
echo "4. own name, JsonBodyMatcher: $status displayName=$echoed"
[ "$status" = 201 ] && [ "$echoed" = "$name" ] || { echo "expected 201 with the own name" >&2; exit 1; }
