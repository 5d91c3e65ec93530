#!/usr/bin/env bash
# Installs the load generator of `make loadtest` (locust) into its own venv, .venv-load, so
# its gevent and pinned libraries never meet the application's. Idempotent: skipped when
# the stamp of requirements/load.txt is unchanged; a lock lets a test and `make loadtest`
# call it at the same time. Not part of `make setup`: only load testing needs it.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || { echo "run make setup first (.venv is missing)" >&2; exit 1; }
want=$(sha256sum requirements/load.txt | cut -c1-16)
mkdir -p .venv-load
exec 9>.venv-load/.lock
flock 9
if [ "$(cat .venv-load/.stamp 2>/dev/null)" != "$want" ]; then
  echo "==> Installing the load generator (locust) into .venv-load" >&2
  # The application's own Python 3.11 (a venv made from a venv uses the base interpreter).
  [ -x .venv-load/bin/python ] || .venv/bin/python -m venv .venv-load
  .venv-load/bin/pip install -q --disable-pip-version-check -r requirements/load.txt
  echo "$want" > .venv-load/.stamp
fi
