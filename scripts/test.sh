#!/usr/bin/env bash
# Set up, then run the test suite. Tests that need a dataset outside the repository read
# DECISION_ENGINE_DATA_DIR; without it they skip, and under CI=true they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export DECISION_ENGINE_CACHE_DIR=${DECISION_ENGINE_CACHE_DIR:-$PWD/.cache/decision-engine}
python -m pytest -q -p no:cacheprovider "$@"
