#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   bash scripts/test.sh            (extra arguments go to pytest)
# Creates .venv (if missing), installs leakbench with its test extras (Locust
# included, for the plugin's test), installs Debian's chromium (the HTML report
# test) and wrk (the watch and --load-command tests) when they are missing and
# we may (root with apt-get), fills .cache/wheelhouse for the matrix tests, then
# runs ruff, mypy, lint-imports (the layering contracts in pyproject.toml), the docs build
# (mkdocs build --strict) and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e ".[test]"

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${missing[*]} (the HTML report test; the load-command tests)"
        apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "not installed: ${missing[*]}; the tests that need them will say so" >&2
    fi
fi

# The matrix and packaging tests install from a local wheelhouse, never from the index
# during the test run: downloaded here once (about 55 MB), reused afterwards.
python -m tests.integration.wheelhouse

ruff check leakbench scenarios tests benchmarks examples
ruff format --check leakbench scenarios tests benchmarks examples
mypy
lint-imports --no-logo
# The documentation site: a broken link or anchor, or a page missing from the nav, fails.
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet
# Three workers, each a whole module at a time (module-scoped targets and runs stay
# shared): a row spends most of its time waiting (settle, target start), so three
# overlap well even on 2 cores (measured: 2 min 53 s against 3 min 50 s with two).
# `pytest tests/unit` or `pytest -m "not slow"` for a quick look (docs/development.md).
python -m pytest -n 3 --dist loadscope "$@"
