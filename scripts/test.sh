#!/usr/bin/env bash
# Quick start 2: set up and run every check and test: ruff, mypy --strict, import-linter, pytest.
# Extra arguments go to pytest (e.g. -m "not slow" for the fast subset, or a path).
# Tests run on ORBIT_TEST_WORKERS pytest-xdist workers (default 2: most time is spent waiting on
# processes and sockets), whole files per worker; ORBIT_TEST_WORKERS=0 runs them in this process.
# PostgreSQL tests use ORBIT_TEST_POSTGRES_URL (default postgres@127.0.0.1:5432/test) and skip when
# it is unreachable, unless ORBIT_REQUIRE_SERVICES=1 (as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/lint-imports
exec .venv/bin/pytest -n "${ORBIT_TEST_WORKERS:-2}" --dist loadfile "$@"
