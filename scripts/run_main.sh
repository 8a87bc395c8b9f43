#!/usr/bin/env bash
# Set up, then run the main job: recommendations on the Online Retail log shipped with the package.
# Extra arguments go to `python -m engine run`, for example --set params.k=20.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -m engine run --config configs/recommend.yaml "$@"
