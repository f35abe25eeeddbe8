#!/usr/bin/env bash
# Set up a fresh checkout and build the book strictly.
#   1. virtual environment in .venv (Python 3.11 if available)
#   2. pip install -r requirements.txt (the package itself in editable mode, book and test tools)
#   3. Chromium at /usr/bin/chromium for the browser test (apt-get, when missing and possible)
#   4. .venv/bin/jupyter-book build . -W -n --keep-going  (any warning or failing cell fails)
# With CI set, a Chromium that cannot be installed is an error; otherwise a warning.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v python3.11 >/dev/null 2>&1 && python3.11 -c 'import sys' >/dev/null 2>&1; then
  PY=python3.11
else
  PY=python3
  echo "setup: python3.11 not found, using $($PY --version 2>&1)" >&2
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends chromium
  elif [ -n "${CI:-}" ]; then
    echo "setup: /usr/bin/chromium is missing and cannot be installed (need root and apt-get)" >&2
    exit 1
  else
    echo "setup: WARNING /usr/bin/chromium is missing; the browser test will be skipped" \
         "(install it with: sudo apt-get install -y chromium)" >&2
  fi
fi

if ! .venv/bin/jupyter-book build . -W -n --keep-going; then
  echo "setup: the book build FAILED; execution reports follow" >&2
  shopt -s nullglob
  for log in _build/html/reports/*.log _build/html/reports/**/*.log; do
    echo "===== $log" >&2
    cat "$log" >&2
  done
  exit 1
fi
echo "setup: done. Book: _build/html/index.html. Tests: .venv/bin/python -m pytest"
