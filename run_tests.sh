#!/usr/bin/env bash
# Runs every test (unit, model, app, browser). Sets up .venv first.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_venv.sh
export STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
exec .venv/bin/python -m pytest -q "$@"
