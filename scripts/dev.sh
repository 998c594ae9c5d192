#!/usr/bin/env bash
# Set up a virtual environment and run the main job or the test suite.
#   bash scripts/dev.sh demo   -> reports for every bundled example intake in outputs/
#   bash scripts/dev.sh test   -> tests, ruff and mypy
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
VENV=".venv"

if ! command -v "$PY" >/dev/null 2>&1; then
  echo "Python 3.11 eller nyere mangler (python3). Installér det fx med: apt-get install python3" >&2
  exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "aivurdering kræver Python 3.11 eller nyere; fandt $("$PY" --version)." >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    # Debian ships venv separately (python3-venv); install it when we may.
    if command -v apt-get >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      echo "Installerer python3-venv (Debian) ..." >&2
      $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$PY" -m venv "$VENV"
    else
      echo "Kan ikke oprette et virtuelt miljø: installér Pythons venv-modul." >&2
      exit 1
    fi
  fi
fi

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  # (filter pip's warnings about index locations configured on some build machines but absent)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  touch "$stamp"
fi

case "${1:-demo}" in
  demo)
    shift || true
    exec "$VENV/bin/aivurdering" demo -o outputs "$@"
    ;;
  test)
    shift || true
    "$VENV/bin/python" -m pytest -n auto -q "$@"
    "$VENV/bin/ruff" check pipeline tests benchmarks
    "$VENV/bin/mypy" pipeline
    echo "Alle tests, ruff og mypy er grønne."
    ;;
  *)
    echo "Brug: bash scripts/dev.sh demo|test" >&2
    exit 2
    ;;
esac
