#!/usr/bin/env bash
# Starts the Rasa server (REST, web chat socket.io, and LINE/Slack when configured), the web chat demo
# page and the staff desk (bot/staff, STAFF_PORT), in the foreground; Ctrl-C stops them all. The custom actions run inside the Rasa server
# (bot/action_runner.py); MADOGUCHI_ACTIONS=server runs them in a separate action server instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false  # no telemetry or error reports leave the machine
RASA_PORT="${RASA_PORT:-5005}"
ACTION_PORT="${ACTION_PORT:-5055}"
ACTIONS="${MADOGUCHI_ACTIONS:-inprocess}"
case "$ACTIONS" in
  inprocess) ACTION_URL="inprocess:actions" ;;
  server) ACTION_URL="http://localhost:${ACTION_PORT}/webhook" ;;
  *) echo "MADOGUCHI_ACTIONS は inprocess か server です (指定: ${ACTIONS})" >&2; exit 2 ;;
esac
WEB_PORT="${WEB_PORT:-8080}"
STAFF_PORT="${STAFF_PORT:-8090}"
# The pages allowed to talk to the guide (CORS, and the web chat's websocket origin check).
export MADOGUCHI_CORS="${MADOGUCHI_CORS:-http://localhost:${WEB_PORT} http://127.0.0.1:${WEB_PORT}}"
read -r -a CORS <<< "${MADOGUCHI_CORS}"
mkdir -p var
# Conversations are stored masked (bot/privacy/tracker_store.py): a SQLite file by default, or the
# SQLAlchemy URL in MADOGUCHI_TRACKER_DB_URL (left as ${VAR} here: Rasa expands it, no secret on disk).
if [ -n "${MADOGUCHI_TRACKER_DB_URL:-}" ]; then
  TRACKER_URL='${MADOGUCHI_TRACKER_DB_URL}'
else
  TRACKER_URL="sqlite:///$(pwd)/var/tracker.sqlite3"
fi
cat > var/endpoints.yml <<YAML
action_endpoint:
  url: "${ACTION_URL}"
tracker_store:
  type: bot.privacy.tracker_store.MaskingTrackerStore
  inner_store: sql
  url: "${TRACKER_URL}"
YAML
CHANNELS="$(.venv/bin/madoguchi channels credentials --out var/credentials.yml)"
# The staff desk switches the guide to a retrained model through Rasa's API (PUT /model): the API is on,
# behind a token made for this run unless MADOGUCHI_RASA_TOKEN is given (REST and the channels need none).
MADOGUCHI_RASA_TOKEN="${MADOGUCHI_RASA_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')}"
export MADOGUCHI_RASA_TOKEN MADOGUCHI_RASA_URL="${MADOGUCHI_RASA_URL:-http://127.0.0.1:${RASA_PORT}}"
# After such a retraining the guide restarts on the retrained model while it is the newest (bot/retrained_model.py).
export MADOGUCHI_RETRAINED_MODEL="${MADOGUCHI_RETRAINED_MODEL:-${MADOGUCHI_RETRAIN_DIR:-var/retraining}/current.tar.gz}"
.venv/bin/python -m devtools.web_server --port "$WEB_PORT" --rasa "http://localhost:${RASA_PORT}" --quiet >/dev/null &
PIDS=("$!")
# The staff desk: its own server, on the same knowledge base (MADOGUCHI_DB_URL or var/madoguchi.sqlite3).
.venv/bin/python -m bot.staff --port "$STAFF_PORT" >/dev/null &
STAFF_PID=$!
PIDS+=("$STAFF_PID")
if [ "$ACTIONS" = server ]; then
  .venv/bin/python -m bot.serve run actions --actions actions --port "$ACTION_PORT" &
  PIDS+=("$!")
  WHERE_ACTIONS="action server on http://localhost:${ACTION_PORT}/health"
else
  WHERE_ACTIONS="inside the Rasa server"
fi
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT INT TERM
echo "Madoguchi: starting (loading the model takes a few seconds)..."
.venv/bin/python -m bot.serve run --port "$RASA_PORT" --model models/madoguchi.tar.gz \
  --endpoints var/endpoints.yml --credentials var/credentials.yml --cors "${CORS[@]}" \
  --enable-api --auth-token "$MADOGUCHI_RASA_TOKEN" &
RASA_PID=$!
PIDS+=("$RASA_PID")
# Once the server answers, say where each part listens (scripts/ready.py waits for it).
if .venv/bin/python scripts/ready.py "http://127.0.0.1:${RASA_PORT}/" "$RASA_PID"; then
  LINE=off; SLACK=off
  case "$CHANNELS" in *LINE*) LINE=on ;; esac
  case "$CHANNELS" in *Slack*) SLACK=on ;; esac
  echo
  echo "Madoguchi is ready:"
  echo "  REST           http://localhost:${RASA_PORT}/webhooks/rest/webhook"
  echo "  web chat demo  http://localhost:${WEB_PORT}/   (socket.io: http://localhost:${RASA_PORT}/socket.io)"
  echo "  staff search   http://localhost:${RASA_PORT}/webhooks/faq_search/search?q=..."
  if .venv/bin/python scripts/ready.py "http://127.0.0.1:${STAFF_PORT}/healthz" "$STAFF_PID" 60; then
    echo "  staff desk     http://localhost:${STAFF_PORT}/"
    if [ -z "$(.venv/bin/madoguchi staff list --quiet 2>/dev/null)" ]; then
      echo "                 no staff account yet; create the first (password from a prompt):"
      echo "                 .venv/bin/madoguchi staff add NAME --role editor"
    fi
  else
    echo "  staff desk     did not start (see its messages above)"
  fi
  echo "  LINE           ${LINE}  (LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN switch it on)"
  echo "  Slack          ${SLACK}  (SLACK_TOKEN and SLACK_SIGNING_SECRET switch it on)"
  echo "  actions        ${WHERE_ACTIONS}"
  echo "Ctrl-C stops everything."
fi
wait "$RASA_PID"
