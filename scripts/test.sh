#!/usr/bin/env bash
# Runs the whole suite against real services: PostgreSQL, Redis and RabbitMQ on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
export TEST_RABBITMQ_URL="${TEST_RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/}"
export TOKENIZERS_PARALLELISM=false
# Tests load the knowledge base when they need it; the e2e stacks preload it themselves.
export KB_PRELOAD=0
# The suite describes the product on the repository's own data, so it passes the same on a
# machine without a centre's history (../shared is not shipped); evaluation commands
# (make eval-routing / eval-dialogue) measure models trained on history.
export HOTLINE_HISTORY=none
# Train (or reuse the cached) Rasa and routing models before any test waits on them.
.venv/bin/python -m bot train >/dev/null
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
