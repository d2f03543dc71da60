#!/usr/bin/env bash
# Runs the onshi XML fuzz target for a short time (CI). Installs cargo-fuzz if missing and
# keeps its build, corpus and crash artifacts outside the repository.
#   onshi/fuzz/run-briefly.sh [seconds]   (default 25)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
secs="${1:-25}"
cache="${HOUMON_FUZZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/houmon/fuzz-onshi}"
mkdir -p "$cache/corpus" "$cache/artifacts"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (crates.io)…" >&2
  cargo install --locked cargo-fuzz
fi

# Seed the corpus with the real-shaped terminal files from the tests.
cp -n "$here"/../tests/data/*.xml "$cache/corpus/" 2>/dev/null || true

cd "$here"
# Stable toolchain: RUSTC_BOOTSTRAP lets cargo-fuzz pass its -Z sanitizer flags.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$cache/target"
cargo fuzz run xml_parse "$cache/corpus" -- \
  -max_total_time="$secs" -artifact_prefix="$cache/artifacts/" -print_final_stats=1
