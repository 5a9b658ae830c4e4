#!/usr/bin/env bash
# Headless-Chromium screenshots of the Prefect UI (runs, deployments, artifacts) — e.g. after `make serve` and a
# few `prefect deployment run ...`. Usage: scripts/screenshot_prefect_ui.sh [UI_URL] [OUT_DIR]
# Needs Debian's chromium: scripts/bootstrap.sh --browser
set -euo pipefail
cd "$(dirname "$0")/.."

UI=${1:-http://${WAFAD_HOST:-127.0.0.1}:${WAFAD_PREFECT_PORT:-4200}}
OUT=${2:-out/screenshots}
UI=${UI%/}

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "screenshot: no chromium found; install it with scripts/bootstrap.sh --browser" >&2
  exit 2
fi
if ! curl -sf "$UI/api/health" >/dev/null; then
  echo "screenshot: no Prefect server answers at $UI (start one with 'make serve')" >&2
  exit 3
fi

mkdir -p "$OUT"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
shot() {  # page-path file
  "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage \
    --user-data-dir="$profile" --window-size=1600,1200 --virtual-time-budget=20000 \
    --screenshot="$OUT/$2" "$UI$1" >/dev/null 2>&1
  if [ ! -s "$OUT/$2" ]; then
    echo "screenshot: chromium wrote nothing for $UI$1" >&2
    return 1
  fi
  echo "$OUT/$2"
}
shot /v2/runs prefect-runs.png
shot /v2/deployments prefect-deployments.png
shot /v2/artifacts prefect-artifacts.png
