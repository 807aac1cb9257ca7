#!/usr/bin/env bash
# Starts the action server, the Rasa server (REST, web chat socket.io, and LINE/Slack when configured)
# and the web chat demo page, in the foreground; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false  # no telemetry or error reports leave the machine
RASA_PORT="${RASA_PORT:-5005}"
ACTION_PORT="${ACTION_PORT:-5055}"
WEB_PORT="${WEB_PORT:-8080}"
read -r -a CORS <<< "${MADOGUCHI_CORS:-http://localhost:${WEB_PORT} http://127.0.0.1:${WEB_PORT}}"
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
  url: "http://localhost:${ACTION_PORT}/webhook"
tracker_store:
  type: bot.privacy.tracker_store.MaskingTrackerStore
  inner_store: sql
  url: "${TRACKER_URL}"
YAML
.venv/bin/madoguchi channels credentials --out var/credentials.yml
.venv/bin/rasa run actions --actions actions --port "$ACTION_PORT" &
ACTION_PID=$!
.venv/bin/python -m bot.web_server --port "$WEB_PORT" --rasa "http://localhost:${RASA_PORT}" &
WEB_PID=$!
trap 'kill "$ACTION_PID" "$WEB_PID" 2>/dev/null || true' EXIT INT TERM
echo "Madoguchi: action server on http://localhost:${ACTION_PORT}/health"
echo "Madoguchi: REST channel on http://localhost:${RASA_PORT}/webhooks/rest/webhook (starting; model loading takes a few seconds)"
echo "Madoguchi: staff FAQ search on http://localhost:${RASA_PORT}/webhooks/faq_search/search?q=..."
.venv/bin/rasa run --port "$RASA_PORT" --model models/madoguchi.tar.gz \
  --endpoints var/endpoints.yml --credentials var/credentials.yml --cors "${CORS[@]}"
