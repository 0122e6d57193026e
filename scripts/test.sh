#!/usr/bin/env bash
# The README's second command: install the test extras and run lint and every test.
# Extra arguments go to pytest, e.g. scripts/test.sh -k explainers
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh requirements-dev.txt

# The real-browser test drives Debian's Chromium (Playwright downloads no browser here).
if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser test..."
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

echo "Lint: ruff check and ruff format --check"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "Tests"
exec .venv/bin/python -m pytest "$@"
