#!/usr/bin/env bash
# Quick start 1: set up and run Orbit on its embedded default
# (SQLite, in-process event bus, simulated Cluster Plane) at http://127.0.0.1:8420.
# Extra arguments go to `orbit up` (e.g. --port 9000 --data-dir /tmp/orbit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/orbit up "$@"
