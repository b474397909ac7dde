#!/usr/bin/env bash
# Runs every test of zeug: `cargo test --all-features`, after installing what the tests
# drive when it is missing (apt: nginx, redis-server, chromium, chromium-driver).
# Nothing is skipped. Prints each phase (install, build, test) with its wall time.
# Extra arguments go to cargo (`scripts/test.sh --test serving`).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
phase_start=$started
phases=()
phase() {
  local now
  now=$(date +%s)
  phases+=("$(printf '%-8s %4ss' "$1" "$((now - phase_start))")")
  echo "scripts/test.sh: $1 done in $((now - phase_start))s" >&2
  phase_start=$now
}
summary() {
  local status=$?
  echo "scripts/test.sh: phases (wall time):" >&2
  for p in "${phases[@]}"; do echo "  $p" >&2; done
  echo "  total    $(($(date +%s) - started))s$([ "$status" -eq 0 ] || echo " (failed, exit $status)")" >&2
}
trap summary EXIT

# --- install: the programs the integration tests start -----------------------------------
need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${need_apt[*]} (apt)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts services on install; the tests start their own instances.
  $SUDO systemctl stop nginx redis-server >/dev/null 2>&1 || true
  $SUDO service nginx stop >/dev/null 2>&1 || true
  $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
phase install

# --- build: every test binary and the examples the tests run, once ----------------------
cargo test --all-features --no-run "$@"
phase build

# --- test: unit, integration and doc tests ------------------------------------------------
cargo test --all-features "$@"
phase test
