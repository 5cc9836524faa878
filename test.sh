#!/usr/bin/env bash
# One command: set up (test tools, Chromium) and run the whole suite: lint, unit, integration and
# browser tests. DATABASE_URL picks the database (SQLite by default; postgres://… for PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --test
.venv/bin/ruff check .
export SHUANGSUIJI_DATA="${SHUANGSUIJI_DATA:-$(mktemp -d)}"
exec .venv/bin/pytest -q -n "${TEST_WORKERS:-2}" "$@"
