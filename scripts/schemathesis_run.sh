#!/usr/bin/env bash
# The OpenAPI schema against the live service: schemathesis sends generated requests to every route and checks
# each answer's status, headers and body against /openapi.json (docs/api.md, "The schema").
#
#   pip install schemathesis            # not a test dependency: a few minutes of generated requests, run by hand
#   scripts/schemathesis_run.sh [MAX_EXAMPLES]
#
# The service runs on the shipped model with a temporary ACTCAP_HOME (POST /teach bodies it generates are
# refused or queued there; nothing of the user's is touched), on a free port of 127.0.0.1.
# Every check runs but positive_data_acceptance (ST202, "a schema-valid request was refused"): the forms' rules
# span fields and file contents (one label per video, each label twice, a file that decodes as a video), which
# JSON Schema cannot say, so schema-valid bodies that break them are rightly refused with 400/422.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
PORT=${PORT:-5077}
HOME_DIR=$(mktemp -d)
ACTCAP_HOME=$HOME_DIR $PY -m actcap serve --port "$PORT" --max-teach-jobs 1 >"$HOME_DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$HOME_DIR"' EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  sleep 0.5
done
$PY -m schemathesis.cli run "http://127.0.0.1:$PORT/openapi.json" --checks all --max-examples "${1:-50}" \
  --request-timeout 120 --suppress-health-check all --exclude-checks positive_data_acceptance
