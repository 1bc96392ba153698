#!/usr/bin/env bash
# Starts the planner in the browser on the shipped default scenario (http://localhost:8501). Sets up .venv first.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_venv.sh
export STREAMLIT_BROWSER_GATHER_USAGE_STATS=false  # also off in .streamlit/config.toml: the app stays offline
if [ -f app.py ]; then
  exec .venv/bin/python -m streamlit run app.py "$@"
fi
# Until the app lands, solve the default scenario from the command line.
exec .venv/bin/python -m planner solve scenarios/jilin-baseline --out out
