#!/usr/bin/env bash
# ctest entry: the client tests need node and `npm ci` in this folder (scripts/setup.sh does
# it); without them the test reports "skipped" (exit 77) instead of passing silently.
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "node is not installed"; exit 77; }
[ -d node_modules/openai ] || { echo "run: npm ci --prefix tests/server_js"; exit 77; }
exec node --test --test-concurrency=1 .
