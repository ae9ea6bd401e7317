#!/usr/bin/env bash
# Playback: the emulator answers from a recorded fixture instead of emulating. A request equal
# to a recorded one (GUIDs, dates and secrets match by shape) gets the recorded answer; any
# other gets 404 RecordingNotFound naming the closest recorded request.
#
# Usage: clients/shell/playback.sh FIXTURE   (e.g. fixtures/create_for_rbac_without_role.json)
# Runs entra-emulator from PATH, or $ENTRA_EMULATOR_BIN. Needs curl and jq.
set -euo pipefail
FIXTURE=${1:?usage: $0 FIXTURE}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

"${ENTRA_EMULATOR_BIN:-entra-emulator}" --plain-http --bind 127.0.0.1:0 \
  --connection-file "$dir/conn.json" --replay "$FIXTURE" >"$dir/log" 2>&1 &
pid=$!
until [ -f "$dir/conn.json" ]; do kill -0 "$pid" || { cat "$dir/log"; exit 1; }; sleep 0.1; done
BASE=$(jq -r .base_url "$dir/conn.json")

# The fixture's fourth request (an app registration) again: the recorded 201 and body.
curl -sS -w ' -> %{http_code}\n' -H 'Content-Type: application/json' "$BASE/v1.0/applications" \
  -d "$(jq -c '.Entries[3].RequestBody' "$FIXTURE")"
# A registration the fixture does not hold: 404 RecordingNotFound.
curl -sS -w ' -> %{http_code}\n' -H 'Content-Type: application/json' "$BASE/v1.0/applications" \
  -d '{"displayName": "my-own-app"}'
