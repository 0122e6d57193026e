#!/usr/bin/env bash
# Print a requirements file as this machine installs it (scripts/venv.sh uses it):
# TensorFlow's CUDA build (tensorflow[and-cuda], same version) in place of tensorflow-cpu when an NVIDIA GPU
# answers `nvidia-smi -L`, or when EXPLORER_GPU=1; tensorflow-cpu otherwise, or when EXPLORER_GPU=0.
# A `-r requirements.txt` line is replaced by that file's lines.
# Usage: scripts/requirements.sh requirements.txt|requirements-dev.txt
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="$1"

gpu="${EXPLORER_GPU:-}"
if [ -z "$gpu" ]; then
  gpu=0
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=1; fi
fi

expand() {
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "-r "*) expand "${line#-r }" ;;
      *) echo "$line" ;;
    esac
  done < "$1"
}

if [ "$gpu" = 1 ]; then
  expand "$requirements" | sed -E 's/^tensorflow-cpu==/tensorflow[and-cuda]==/'
else
  expand "$requirements"
fi
