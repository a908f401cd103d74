#!/usr/bin/env bash
# End-to-end test of the real app: the built binary under Xvfb, driven through WebDriver
# (tauri-driver + WebKitWebDriver) with the tiny fixture model. Screenshots land in
# tests/e2e/artifacts/.
# Usage: run-e2e.sh /path/to/dream-writer [TEST.mjs]   (run it under `xvfb-run -a`; the test
# file defaults to app.e2e.mjs; the `dream` CLI built beside the app is compared with it)
set -euo pipefail
cd "$(dirname "$0")"
app=$(realpath "$1")
home=$(mktemp -d)
trap 'kill "${driver:-}" 2>/dev/null || true; rm -rf "$home"' EXIT
mkdir -p artifacts
# The app keeps its settings, autosave and documents in a scratch home; its native file
# dialogs take their answers from a file the test writes (the page cannot reach it).
echo '[]' > "$home/dialogs.json"
DREAM_WRITER_HOME="$home/app" DREAM_WRITER_TEST_DIALOGS="$home/dialogs.json" \
  tauri-driver --port 4444 > "$home/driver.log" 2>&1 &
driver=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:4444/status > /dev/null && break; sleep 0.2; done
APP="$app" DREAM="$(dirname "$app")/dream" WORK="$home" DIALOGS="$home/dialogs.json" node --test "${2:-app.e2e.mjs}" || { cat "$home/driver.log"; exit 1; }
