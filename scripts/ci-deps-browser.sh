#!/usr/bin/env bash
# Browser tests of the control panel (tests/browser) on a fresh Debian machine: Debian's
# Chromium (Playwright drives it; `playwright install` is never run, it would download a
# browser), a Japanese font so that screenshots show Japanese text, curl for the API key
# check, and the playwright package in the venv.
# Idempotent: a second run finds everything in place and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need=()
for pkg in chromium fonts-ipafont-gothic curl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

VENV=${VENV:-.venv}
"$VENV/bin/python" -c "import playwright.sync_api" 2>/dev/null \
  || "$VENV/bin/pip" install -q -e '.[dev,browser]'
