#!/usr/bin/env bash
# The README's first command: set up (first time only) and start the app on http://localhost:8501.
# Extra arguments go to Streamlit, e.g. scripts/start.sh --server.port 8600 (ui/serve.py says what it adds)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh requirements.txt
echo "Starting Explanation Explorer (default http://localhost:8501; Streamlit prints the address; Ctrl+C stops)..."
exec .venv/bin/python -m ui.serve "$@"
