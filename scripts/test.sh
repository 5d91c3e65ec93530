#!/usr/bin/env bash
# Runs the whole suite against real services: PostgreSQL and Redis on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
export TOKENIZERS_PARALLELISM=false
# Tests load the knowledge base when they need it; the e2e stacks preload it themselves.
export KB_PRELOAD=0
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
