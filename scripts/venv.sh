#!/usr/bin/env bash
# Create .venv (Python 3.11 or 3.12) and install a requirements file into it, only when it changed.
# Usage: scripts/venv.sh requirements.txt|requirements-dev.txt
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="$1"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $("$python" --version)..."
  "$python" -m venv .venv
fi
# Reinstall only when the requirement files differ from what was last installed.
stamp=".venv/.installed-$(basename "$requirements" .txt)"
wanted="$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing $requirements (first time: about 2 minutes, 2.3 GB)..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$wanted" > "$stamp"
fi
