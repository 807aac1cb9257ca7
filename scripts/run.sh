#!/usr/bin/env bash
# Starts the action server and the Rasa server (REST channel) in the foreground; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
RASA_PORT="${RASA_PORT:-5005}"
ACTION_PORT="${ACTION_PORT:-5055}"
mkdir -p var
cat > var/endpoints.yml <<YAML
action_endpoint:
  url: "http://localhost:${ACTION_PORT}/webhook"
YAML
.venv/bin/madoguchi channels credentials --out var/credentials.yml
.venv/bin/rasa run actions --actions actions --port "$ACTION_PORT" &
ACTION_PID=$!
trap 'kill "$ACTION_PID" 2>/dev/null || true' EXIT INT TERM
echo "Madoguchi: action server on http://localhost:${ACTION_PORT}/health"
echo "Madoguchi: REST channel on http://localhost:${RASA_PORT}/webhooks/rest/webhook (starting; model loading takes a few seconds)"
.venv/bin/rasa run --port "$RASA_PORT" --model models/madoguchi.tar.gz \
  --endpoints var/endpoints.yml --credentials var/credentials.yml
