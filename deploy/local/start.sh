#!/usr/bin/env bash
# `npm start`: backing services up, migrations, demo seed, then the API and the workers in the
# foreground. Ctrl-C (SIGINT) or SIGTERM is forwarded to both apps, which shut down gracefully.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
cd "$TALLY_ROOT"
export API_PORT="${API_PORT:-3000}" WORKERS_PORT="${WORKERS_PORT:-3001}" LOG_LEVEL="${LOG_LEVEL:-info}"
# Links Tally hands out (checkout pages, provider webhooks) point at this API.
export PUBLIC_URL="${PUBLIC_URL:-http://127.0.0.1:$API_PORT}"
# Development: webhook endpoints may be plain http (still public addresses only; docs/security.md).
export WEBHOOK_ALLOW_HTTP="${WEBHOOK_ALLOW_HTTP:-true}"

ensure_node_modules
bash "$HERE/services.sh" up

log "migrations (Postgres, ClickHouse, Kafka topics)"
run_tsx apps/api/src/cli/migrate.ts
log "demo seed"
run_tsx apps/api/src/cli/seed-demo.ts
bash "$HERE/dashboard.sh"

for app in api workers; do
  if pid_alive "$app" "apps/$app/src/main.ts"; then
    die "$app already running (pid $(pid_of "$app")); stop it first: npm run stop"
  fi
done

echo $$ >"$(pid_file start)"
pids=()
tsx_cmd
start_app() {
  local name="$1" entry="$2"
  "${TSX[@]}" "$entry" &
  local pid=$!
  echo "$pid" >"$(pid_file "$name")"
  pids+=("$pid")
  log "$name started (pid $pid): $entry"
}

stopping=0
shutdown() {
  [[ $stopping -eq 1 ]] && return; stopping=1
  log "shutting down api and workers (SIGTERM)..."
  local p; for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
}
trap shutdown INT TERM

start_app api apps/api/src/main.ts
start_app workers apps/workers/src/main.ts

cat >&2 <<MSG

[tally] Tally is starting (profile $TALLY_PROFILE: Redis $REDIS_URL, Kafka $KAFKA_BROKERS):
  API            http://127.0.0.1:$API_PORT
  readiness      http://127.0.0.1:$API_PORT/readyz   (details with the METRICS_TOKEN bearer)
  API metrics    http://127.0.0.1:$API_PORT/metrics  (-H "Authorization: Bearer \$METRICS_TOKEN"; off while it is unset)
  OpenAPI        http://127.0.0.1:$API_PORT/openapi.json
  dashboard      http://127.0.0.1:$API_PORT/dashboard   (sign in with the demo key above; docs/dashboard.md)
  workers metrics http://127.0.0.1:$WORKERS_PORT/metrics
  logs/data      $TALLY_DATA_DIR   (services: bash deploy/local/services.sh status)
  stop           Ctrl-C here, or: npm run stop   (backing services: npm run services:down)

MSG

# When either app exits (or we are signalled), stop the other and wait for both.
rc=0
wait -n "${pids[@]}" || rc=$?
shutdown
for p in "${pids[@]}"; do
  # `wait` returns early when a trapped signal arrives; loop until the child is really gone.
  while kill -0 "$p" 2>/dev/null; do wait "$p" 2>/dev/null || true; done
done
rm -f "$(pid_file api)" "$(pid_file workers)" "$(pid_file start)"
log "api and workers stopped"
# A signal-initiated shutdown is a normal exit.
if [[ $stopping -eq 1 && $rc -ge 128 ]]; then rc=0; fi
exit "$rc"
