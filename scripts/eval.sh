#!/usr/bin/env bash
# `make eval`: starts the guide on spare ports, runs the QA benchmark on the public sample and on our
# own evaluation set, prints accuracy and latency (and the fixed-response comparison), then stops.
set -uo pipefail
cd "$(dirname "$0")/.."
export RASA_PORT="${EVAL_RASA_PORT:-5105}" ACTION_PORT="${EVAL_ACTION_PORT:-5155}"
setsid bash scripts/run.sh > var/eval-server.log 2>&1 &
SERVER_PID=$!
trap 'kill -- -"$SERVER_PID" 2>/dev/null || true' EXIT
URL="http://localhost:${RASA_PORT}"
for _ in $(seq 1 180); do
  if .venv/bin/python - "$URL" <<'PY' 2>/dev/null; then break; fi
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/webhooks/rest/webhook", data=json.dumps({"sender": "ready", "message": "こんにちは"}).encode(), headers={"Content-Type": "application/json"})
assert json.loads(urllib.request.urlopen(req, timeout=5).read())
PY
  sleep 2
done
status=0
echo "== custom actions: ${MADOGUCHI_ACTIONS:-inprocess} (MADOGUCHI_ACTIONS=inprocess|server)"
echo "== public sample (../shared/eval/public_qa.yml)"
.venv/bin/python bench/eval.py ../shared/eval/public_qa.yml --url "$URL" --fixed-text こんにちは || status=1
echo "== own evaluation set (eval/madoguchi_qa.yml)"
.venv/bin/python bench/eval.py eval/madoguchi_qa.yml --url "$URL" --fixed-text こんにちは || status=1
exit $status
