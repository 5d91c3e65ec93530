#!/usr/bin/env bash
# 3-fold cross-validation of the NLU; per-intent report in reports/nlu/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p reports/nlu
RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 .venv-rasa/bin/rasa test nlu \
  --config config.yml --nlu data/nlu --cross-validation --folds "${FOLDS:-3}" --out reports/nlu
.venv/bin/python -m bot nlu-summary reports/nlu
