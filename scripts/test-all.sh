#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every check and test. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

install_system_packages
require_rust
start_pcscd
trap stop_pcscd EXIT

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
echo "== fuzz (onshi XML codec, briefly)"
bash onshi/fuzz/run-briefly.sh 25
