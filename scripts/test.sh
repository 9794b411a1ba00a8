#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   bash scripts/test.sh            (extra arguments go to pytest)
# Creates .venv (if missing), installs leakbench with its test extras, installs
# Debian's chromium for the HTML report test when it is missing and we may
# (root with apt-get), fills .cache/wheelhouse for the matrix tests, then runs ruff, mypy,
# lint-imports (the layering contracts in pyproject.toml) and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e ".[test]"

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium (for the HTML report test)"
        apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is not installed: the HTML rendering test will say so and fail" >&2
    fi
fi

# The matrix tests install FastAPI versions from a local wheelhouse, never from the index
# during the test run: downloaded here once (10 to 30 s, 26 MB), reused afterwards.
python -m tests.integration.wheelhouse

ruff check leakbench scenarios tests benchmarks
ruff format --check leakbench scenarios tests benchmarks
mypy
lint-imports --no-logo
# Two workers, each a whole module at a time (module-scoped targets and runs stay
# shared): a row spends most of its time waiting (settle, target start), so two
# overlap well even on 2 cores. `pytest tests/unit` or `pytest -m "not slow"` for
# a quick look (README, Development).
python -m pytest -n 2 --dist loadscope "$@"
