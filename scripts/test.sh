#!/usr/bin/env bash
# Runs every test of zeug. Installs what the tests need when it is missing:
#   apt: nginx, redis-server, chromium + chromium-driver (browser test)
#   pip: werkzeug (behaviour comparisons)
# then runs `cargo test --all-features`. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

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

if ! python3 -c 'import werkzeug' >/dev/null 2>&1; then
  echo "scripts/test.sh: installing werkzeug (pip)" >&2
  python3 -m pip install -q werkzeug
fi

exec cargo test --all-features "$@"
