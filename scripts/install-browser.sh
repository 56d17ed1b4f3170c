#!/usr/bin/env bash
# Install what the browser test of the web view (tests/interfaces/test_webview.py) needs, idempotently:
#   - Chromium from Debian (skipped when /usr/bin/chromium exists);
#   - Playwright for Python in the venv (used only as a driver: it never downloads a
#     browser of its own, the test launches /usr/bin/chromium);
#   - the page's JavaScript in Solara's asset cache, so the page works without reaching a
#     CDN: the web extra's solara-assets package normally has it; only what it lacks (a
#     newer Solara pinning newer packages) is fetched from the npm registry.
# Usage: scripts/install-browser.sh [VENV]   (default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
PY="$VENV/bin/python"

if [ -x /usr/bin/chromium ]; then
    echo "install-browser: chromium already installed ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
else
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq chromium >/dev/null
    echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
fi

if [ ! -x "$PY" ]; then
    echo "install-browser: no venv at $VENV (run 'make venv' first)" >&2
    exit 1
fi
if "$PY" -c "import playwright" 2>/dev/null; then
    echo "install-browser: playwright already installed"
else
    "$PY" -m pip install --quiet playwright
    echo "install-browser: installed playwright (driver only; no 'playwright install')"
fi

if "$PY" -c "from geroconvert.interfaces.webview import missing_assets; raise SystemExit(bool(missing_assets()))"; then
    echo "install-browser: the page's JavaScript is already in Solara's asset cache"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq npm >/dev/null
fi
"$PY" -m geroconvert.interfaces.webview --install-assets
