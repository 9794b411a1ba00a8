#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   bash scripts/test.sh            (extra arguments go to pytest)
# Creates .venv (if missing), installs leakbench with its test extras (Locust
# included, for the plugin's test), installs Debian's chromium (the HTML report
# test) and wrk (the watch and --load-command tests) when they are missing and
# we may (root with apt-get), fills the tests' wheelhouse (in the user's cache) for the
# matrix tests, then
# runs ruff, mypy, lint-imports (the layering contracts in pyproject.toml), the docs build
# (mkdocs build --strict) and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
. .venv/bin/activate
# uv installs the test stack in seconds where pip takes half a minute (both cache downloads);
# compiled ahead, as pip does, so the many target processes do not compile it themselves.
python -m pip install --quiet --upgrade pip uv
uv pip install --quiet --compile-bytecode --python .venv/bin/python -e ".[test]"

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

# The static checks run beside the tests (they need a core for seconds, the tests wait on
# servers most of the time); the script fails if either fails.
static_checks() {
    ruff check leakbench scenarios tests benchmarks examples
    ruff format --check leakbench scenarios tests benchmarks examples
    mypy
    lint-imports --no-logo
    # The documentation site: a broken link or anchor, or a page missing from the nav, fails.
    NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet
}
static_log=$(mktemp)
static_checks >"$static_log" 2>&1 &
static_pid=$!
# Four workers, each a whole module at a time (module-scoped targets and runs stay
# shared): a row spends most of its time waiting (settle, target start), so four overlap
# well even on 2 cores (measured in docs/development.md).
# `pytest tests/unit` or `pytest -m "not slow"` for a quick look (docs/development.md).
tests_status=0
python -m pytest -n 4 --dist loadscope "$@" || tests_status=$?
static_status=0
wait "$static_pid" || static_status=$?
echo "--- static checks (ruff, mypy, lint-imports, mkdocs):"
cat "$static_log"
rm -f "$static_log"
if [ "$static_status" -ne 0 ]; then
    echo "static checks failed (exit $static_status)" >&2
    exit "$static_status"
fi
exit "$tests_status"
