#!/usr/bin/env bash
# Bootstrap a fresh machine: .venv with the project installed, Java for the AWS RCF jars, and (with
# --browser) Debian's chromium for the browser tests. Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "usage: $0 [--browser]" >&2; exit 2 ;;
  esac
done

log() { printf '\033[36mbootstrap\033[0m %s\n' "$*"; }

apt_install() {
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
    echo "bootstrap: need root (or sudo) to install: $*" >&2; return 1
  fi
  local SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  if [ ! -f /tmp/.wafad-apt-updated ]; then
    $SUDO apt-get update -qq && touch /tmp/.wafad-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Python >= 3.11
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: wafad needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi

# 2. Java 11+ for the random-cut-forest-by-aws jars (offline_rcf reference engine)
if ! command -v java >/dev/null 2>&1; then
  log "installing Java (openjdk-17-jre-headless) for the AWS RCF jars"
  apt_install openjdk-17-jre-headless
fi

# 3. the virtualenv and the project, re-installed when pyproject.toml changes
stamp="$VENV/.wafad-installed"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log "installing wafad and its dependencies into $VENV (a few minutes on a fresh machine)"
  pip_log="$VENV/pip-install.log"
  if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install -e '.[dev]'; } \
      >"$pip_log" 2>&1; then
    tail -n 40 "$pip_log" >&2
    echo "bootstrap: pip install failed; full log in $pip_log" >&2
    exit 1
  fi
  touch "$stamp"
fi

# 4. headless chromium for browser tests and screenshots
if [ "$want_browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium for headless browser tests"
  apt_install chromium fonts-dejavu-core
fi
log "ready"
