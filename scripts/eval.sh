#!/usr/bin/env bash
# `make eval`: starts the guide on spare ports, runs the QA benchmark on the public sample and on our
# own evaluation set, prints accuracy and latency (and the fixed-response comparison), then stops.
# It does so twice: with the custom actions inside the Rasa server, as `make run` runs them, and with
# the separate action server, as docker-compose.yml and `make cluster` deploy them.
# EVAL_ACTIONS="inprocess" (or "server") runs one of the two only.
set -uo pipefail
cd "$(dirname "$0")/.."
export RASA_PORT="${EVAL_RASA_PORT:-5105}" ACTION_PORT="${EVAL_ACTION_PORT:-5155}"
URL="http://localhost:${RASA_PORT}"
status=0

evaluate() {  # $1: inprocess | server
  MADOGUCHI_ACTIONS="$1" setsid bash scripts/run.sh > "var/eval-server-$1.log" 2>&1 &
  local server=$!
  for _ in $(seq 1 180); do
    if .venv/bin/python - "$URL" <<'PY' 2>/dev/null; then break; fi
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/webhooks/rest/webhook", data=json.dumps({"sender": "ready", "message": "こんにちは"}).encode(), headers={"Content-Type": "application/json"})
assert json.loads(urllib.request.urlopen(req, timeout=5).read())
PY
    sleep 2
  done
  echo "== custom actions: $1"
  echo "== public sample (../shared/eval/public_qa.yml)"
  .venv/bin/python bench/eval.py ../shared/eval/public_qa.yml --url "$URL" --fixed-text こんにちは || status=1
  echo "== public sample of real questions (../shared/eval/public_real_questions.yml)"
  .venv/bin/python bench/eval.py ../shared/eval/public_real_questions.yml --url "$URL" --min-messages 0 || status=1
  echo "== own evaluation set (eval/madoguchi_qa.yml)"
  .venv/bin/python bench/eval.py eval/madoguchi_qa.yml --url "$URL" --fixed-text こんにちは || status=1
  echo "== real questions, written without seeing the training data (eval/real_questions.yml, target 97%)"
  .venv/bin/python bench/eval.py eval/real_questions.yml --url "$URL" --min-messages 0 --target 0.97 || status=1
  echo "== held-out real questions, by a second writer (eval/holdout_questions.yml, target 95%)"
  .venv/bin/python bench/eval.py eval/holdout_questions.yml --url "$URL" --min-messages 0 --target 0.95 || status=1
  # The blind sets, each by another writer who saw neither the training data nor the other sets.
  # Each file's header gives its blind first run.
  local blind
  for blind in $(ls eval/blind*_questions.yml | sort -V); do
    echo "== real questions, by another writer (${blind}, target 95%)"
    .venv/bin/python bench/eval.py "$blind" --url "$URL" --min-messages 0 --target 0.95 || status=1
  done
  kill -- -"$server" 2>/dev/null
  wait "$server" 2>/dev/null
}

trap 'kill -- -"$(jobs -p)" 2>/dev/null || true' EXIT
for mode in ${EVAL_ACTIONS:-inprocess server}; do
  evaluate "$mode"
done
exit $status
