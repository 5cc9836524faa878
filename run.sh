#!/usr/bin/env bash
# One command: set up, load the demo jurisdiction (SQLite in ./data unless DATABASE_URL is set),
# print the demo logins and serve the platform at http://127.0.0.1:8000/.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
.venv/bin/shuangsuiji demo "$@"
exec .venv/bin/shuangsuiji serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
