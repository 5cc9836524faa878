#!/usr/bin/env bash
# Sets up a fresh checkout: Python venv with the package, front-end assets from the npm registry
# (served by the app itself, never from a CDN) and, with --test, the test tools and Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
extras=""
[ $want_test = 1 ] && extras="[test]"
stamp=".venv/.installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -e ".$extras"
  touch "$stamp"
fi

vendor=shuangsuiji/static/vendor
if [ ! -f "$vendor/.done" ] || [ package-lock.json -nt "$vendor/.done" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  mkdir -p "$vendor/bootstrap" "$vendor/htmx"
  cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js "$vendor/bootstrap/"
  cp node_modules/htmx.org/dist/htmx.min.js "$vendor/htmx/"
  # SHA-256 for the draws' commit–reveal in the browser: crypto.subtle is missing over plain http.
  mkdir -p "$vendor/noble-hashes"
  cp node_modules/@noble/hashes/{sha2,_md,_u64,utils}.js node_modules/@noble/hashes/LICENSE "$vendor/noble-hashes/"
  touch "$vendor/.done"
fi

if [ $want_test = 1 ] && [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's Chromium through Playwright (no browser download).
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
