#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs Houmon in training mode (訓練モード): the tablet
# app with a seeded synthetic clinic, the in-process qualification simulator and synthetic
# My Number cards. Without a display (or with --card), it runs the card demo instead: a
# synthetic card served to the real pcscd through vpcd and read with houmon-card.
#   scripts/demo.sh            the app (needs a display), else the card demo
#   scripts/demo.sh --card     the card demo;  --card --serve leaves the card on the reader
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

install_system_packages
require_rust

if [ "${1:-}" != "--card" ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  require_node
  build_ui
  echo "== building the app"
  cargo build --locked -p houmon-app --bin houmon-app
  echo "== 訓練モードで起動します / starting in training mode"
  exec "$CARGO_TARGET_DIR/debug/houmon-app"
fi
[ "${1:-}" = "--card" ] && shift
[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] ||
  echo "画面がないため、カードのデモを実行します / no display: running the card demo"

echo "== building houmon-card"
cargo build --locked --release -p houmon-nfc --bin houmon-card
card="$CARGO_TARGET_DIR/release/houmon-card"

start_pcscd
virtual_pid=""
cleanup() {
  if [ -n "$virtual_pid" ]; then
    kill "$virtual_pid" 2>/dev/null || true
    wait "$virtual_pid" 2>/dev/null || true
  fi
  stop_pcscd
}
trap cleanup EXIT

echo "== 訓練モード: 架空の患者 佐藤ハナ さんのカード (vc-01, 暗証番号 1234) をリーダーに置きます"
"$card" virtual --card vc-01 >"${TMPDIR:-/tmp}/houmon-virtual-card.log" &
virtual_pid=$!
step() { echo; echo "-- $1"; shift; "$@"; }
step "カードリーダー / readers" "$card" readers
step "カードの状態 / status" "$card" status --wait 10
step "利用者証明用証明書 / certificate (no PIN)" "$card" cert
step "暗証番号の残り回数 / PIN tries" "$card" pin-tries
digest=$(printf 'houmon demo consent' | sha256sum | cut -c1-64)
step "署名 (暗証番号 1234 を標準入力から) / sign with the PIN from stdin" sh -c "echo 1234 | '$card' sign --digest $digest"
step "顔写真 (照合番号B) / face photo" sh -c "echo 13110320314821 | '$card' face --out demo-face.png"
echo
echo "顔写真を demo-face.png に保存しました / saved the face photo to demo-face.png"
if [ "${1:-}" = "--serve" ]; then
  echo "仮想カードを置いたままにします（Ctrl-C で終了）/ the virtual card stays on the reader until Ctrl-C"
  wait "$virtual_pid"
fi
