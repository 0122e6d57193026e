#!/usr/bin/env bash
# The README's second command: install the test extras and run lint and every test.
# Extra arguments go to pytest, e.g. scripts/test.sh -k explainers
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh requirements-dev.txt

# Test-only Debian packages: Chromium for the real-browser test (Playwright downloads no browser
# here), the Fashion-MNIST test split, against which the bundled model's accuracy is checked, and
# poppler-utils (pdftoppm, pdftotext), which renders the PDF reports' pages in the tests.
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || packages+=(poppler-utils)
[ -d /usr/share/datasets/fashion-mnist ] || packages+=(dataset-fashion-mnist)
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing Debian packages for the tests: ${packages[*]}..."
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

echo "Lint: ruff check and ruff format --check"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "Tests"
exec .venv/bin/python -m pytest --durations=10 "$@"  # the slowest tests, to keep CI well under 20 minutes
