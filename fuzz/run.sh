#!/usr/bin/env bash
# Runs one fuzz target with libFuzzer on the stable toolchain.
#
#   fuzz/run.sh TARGET [SECONDS] [extra libFuzzer flags...]
#
# TARGET is one of token_form, odata_filter, kql, jwt; SECONDS defaults to 60. The corpus
# grows in fuzz/corpus/TARGET and crashes land in fuzz/artifacts/TARGET. These are the
# coverage flags `cargo fuzz --sanitizer none` passes, so `cargo fuzz run TARGET
# --sanitizer none` works too where cargo-fuzz is installed; no nightly is needed.
set -euo pipefail
target="${1:?usage: fuzz/run.sh TARGET [SECONDS] [libFuzzer flags...]}"
seconds="${2:-60}"
shift $(( $# < 2 ? $# : 2 ))
cd "$(dirname "$0")"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
# An explicit --target keeps the flags off build scripts and proc macros, as cargo-fuzz does.
triple="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --target "$triple" --bin "$target"
mkdir -p "corpus/$target" "artifacts/$target"
exec "$CARGO_TARGET_DIR/$triple/release/$target" "corpus/$target" "seeds/$target" \
  -artifact_prefix="artifacts/$target/" -max_total_time="$seconds" -max_len=4096 "$@"
