#!/usr/bin/env bash
# Runs one fuzz target under libFuzzer for a while, on the stable toolchain.
#
#   fuzz/run.sh match_path 300      # target, seconds (default 60)
#
# `cargo +nightly fuzz run <target>` does the same where a nightly toolchain exists. This
# script needs none: it builds with the coverage instrumentation cargo-fuzz would ask for
# (RUSTC_BOOTSTRAP lets stable rustc take those flags; no sanitizer, so memory errors in
# `unsafe` code show only as crashes) and keeps its corpus under target/fuzz-corpus/.
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: fuzz/run.sh <target> [seconds]}"
seconds="${2:-60}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# `--target` keeps these flags off build scripts.
cargo build --release --bin "$target" --target "$triple" --target-dir ../target/fuzz
corpus="../target/fuzz-corpus/$target"
mkdir -p "$corpus"
exec "../target/fuzz/$triple/release/$target" "$corpus" -max_total_time="$seconds" -max_len=4096
