#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every check and test. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

install_system_packages
require_rust
require_node
build_ui
install_tauri_driver
start_pcscd
trap stop_pcscd EXIT

echo "== UI component tests"
(cd ui && npm test)
echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build (every binary: the tests run houmon-relay, houmon-gateway, houmon-clinic and houmon-app"
echo "   from this target dir; cargo test alone builds only the binaries of packages with integration tests)"
cargo build --workspace --bins --locked
echo "== cargo test (unit, integration, card via pcscd, sync via the relay, app end to end under Xvfb;"
echo "   a throwaway PostgreSQL cluster for the tests that need two relays on one database)"
pg_scratch="$CARGO_TARGET_DIR/debug/houmon-pg-scratch"
"$pg_scratch" -- cargo test --workspace --locked
echo "== the relay suite again, on PostgreSQL"
"$pg_scratch" -- env HOUMON_RELAY_BACKEND=postgres cargo test --locked -p houmon-relay
echo "== OS keystore through a real Secret Service (gnome-keyring on a private session bus)"
XDG_DATA_HOME=$(mktemp -d) HOUMON_REQUIRE_KEYSTORE=1 dbus-run-session -- sh -c \
  'printf houmon-ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
   cargo test --workspace --locked --test platform_keystore --test os_keystore'
echo "== production build: no training clinic, no synthetic card key in the app"
cargo clippy -p houmon-app --no-default-features --locked -- -D warnings
app_bin="$CARGO_TARGET_DIR/debug/houmon-app"
builds=$(mktemp -d)
cp "$app_bin" "$builds/training"
cargo build -p houmon-app --no-default-features --locked
cp "$app_bin" "$builds/production"
cargo build -p houmon-app --locked # the default (training) binary back in place for the next run
HOUMON_TRAINING_APP="$builds/training" HOUMON_PRODUCTION_APP="$builds/production" \
  cargo test --locked -p houmon-tests --test production_build -- --ignored
rm -rf "$builds"
echo "== fuzz (onshi XML codec, briefly)"
bash onshi/fuzz/run-briefly.sh 25
