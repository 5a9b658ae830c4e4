#!/usr/bin/env bash
# Bootstrap a fresh machine: .venv with exactly requirements.lock and the project installed, Java for the AWS
# RCF jars, and (with --browser) Debian's chromium and chromedriver for the browser tests. Safe to run again:
# each step is skipped when done. WAFAD_ALLOW_STALE_LOCK=1: a lock that no longer matches pyproject.toml's
# dependency lists falls back to a plain resolve (with a warning) instead of failing.
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

# 3. the virtualenv: exactly the lock, then the project without deps; again when pyproject.toml or the lock change
stamp="$VENV/.wafad-installed"
lock=requirements.lock
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  pip_log="$VENV/pip-install.log"
  pip=("$VENV/bin/python" -m pip)
  if "$PYTHON" scripts/lockfile.py check; then
    log "installing $lock and wafad into $VENV (a few minutes on a fresh machine)"
    install_venv() {
      "${pip[@]}" install --require-hashes --no-deps -r "$lock" &&
        "${pip[@]}" install --no-build-isolation --no-deps -e . &&
        { mapfile -t unlisted < <("$VENV/bin/python" scripts/lockfile.py unlisted) &&
          if [ "${#unlisted[@]}" -gt 0 ]; then "${pip[@]}" uninstall -y "${unlisted[@]}"; fi; } &&
        "${pip[@]}" check
    }
  elif [ "${WAFAD_ALLOW_STALE_LOCK:-}" = 1 ]; then
    log "WARNING: WAFAD_ALLOW_STALE_LOCK=1: resolving pyproject.toml afresh instead of installing $lock"
    install_venv() { "${pip[@]}" install --upgrade pip && "${pip[@]}" install -e '.[local,test,dev]'; }
  else
    exit 1  # lockfile.py printed why
  fi
  if ! install_venv >"$pip_log" 2>&1; then
    tail -n 40 "$pip_log" >&2
    echo "bootstrap: pip install failed; full log in $pip_log" >&2
    exit 1
  fi
  touch "$stamp"
fi

# 4. headless chromium and its driver (selenium) for browser tests and screenshots
if [ "$want_browser" = 1 ] && ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  log "installing Debian's chromium and chromium-driver for headless browser tests"
  apt_install chromium chromium-driver fonts-dejavu-core
fi
log "ready"
