#!/usr/bin/env bash
# Create .venv (Python 3.11 or 3.12) and install a requirements file into it, only when it changed.
# Usage: scripts/venv.sh requirements.txt|requirements-dev.txt
#
# TensorFlow's build follows the machine (scripts/requirements.sh): the CUDA build when an NVIDIA GPU is
# visible or EXPLORER_GPU=1, tensorflow-cpu otherwise. The two share one install folder, so switching
# uninstalls the other build first: never both in one venv.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="$1"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $("$python" --version)..."
  "$python" -m venv .venv
fi

resolved=".venv/requirements-$(basename "$requirements" .txt)-resolved.txt"
scripts/requirements.sh "$requirements" > "$resolved"
if grep -q '^tensorflow\[and-cuda\]==' "$resolved"; then
  build="TensorFlow's CUDA build" unwanted=tensorflow-cpu
else
  build="TensorFlow for the CPU" unwanted=tensorflow
fi

# Reinstall only when what this machine needs differs from what was last installed.
stamp=".venv/.installed-$(basename "$requirements" .txt)"
wanted="$(sha256sum "$resolved" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing $requirements with $build (first time: about 2 minutes, 2.3 GB; more with CUDA)..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  if .venv/bin/python -m pip show --quiet "$unwanted" >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall --quiet --yes "$unwanted"
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$resolved"
  echo "$wanted" > "$stamp"
fi
