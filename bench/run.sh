#!/usr/bin/env bash
# The emulator's benchmarks, end to end, from a fresh clone: installs what is missing
# (wrk and openssl from Debian, node/npm, oauth2-mock-server 9.3.0 from npm into
# target/bench/peer), builds the emulator and the harness in release, then runs
# `entra-bench all`, which prints every figure beside its peer or limit and its target.
# Extra arguments go to `entra-bench all` (--rounds N, --seconds S, --connections C,
# --scale N, --skip-tests). Loopback only; every load is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]} (apt-get)"
  "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# perf only adds the profiles to the notes; the figures do not need it.
if ! command -v perf >/dev/null; then
  echo "== installing linux-perf (apt-get; optional, for the profiles)"
  "${sudo[@]}" apt-get install -y -qq linux-perf >/dev/null 2>&1 || echo "   (not installed: no profiles)"
fi

peer=target/bench/peer
if [ ! -x "$peer/node_modules/.bin/oauth2-mock-server" ]; then
  echo "== installing oauth2-mock-server@9.3.0 (npm) into $peer"
  mkdir -p "$peer"
  npm install --prefix "$peer" --no-audit --no-fund --silent oauth2-mock-server@9.3.0
fi

echo "== building the emulator and the harness (release)"
cargo build --release --quiet -p entra-emulator -p entra-bench

exec target/release/entra-bench all --peer "$peer/node_modules/.bin/oauth2-mock-server" "$@"
