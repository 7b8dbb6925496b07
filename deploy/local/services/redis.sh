# shellcheck shell=bash
# Redis at $REDIS_URL. Sourced by services.sh (needs lib.sh).
# Ours: redis-server --appendonly yes --dir .data/redis --daemonize yes, on loopback.

redis_url()  { printf '%s' "$REDIS_URL"; }
redis_log()  { printf '%s/redis.log' "$TALLY_LOG_DIR"; }
REDIS_PAT="redis-server"

redis_probe() {
  command -v redis-cli >/dev/null 2>&1 || return 1
  [[ $(timeout 5 redis-cli -u "$REDIS_URL" --no-auth-warning PING 2>/dev/null) == PONG ]]
}

redis_up() {
  if redis_probe; then return 0; fi
  local host port; host="$(url_host "$REDIS_URL")"; port="$(url_port "$REDIS_URL" 6379)"
  if pid_alive redis "$REDIS_PAT"; then
    wait_ready redis "$REDIS_URL" "$(redis_log)" 60 redis_probe redis "$REDIS_PAT"; return 0
  fi
  is_local_host "$host" || fail_service redis "$REDIS_URL" "$(redis_log)" "not answering and not a local address, so not starting one"
  need_cmd redis-server redis-server
  need_cmd redis-cli redis-tools
  local dir="$TALLY_DATA_DIR/redis"; mkdir -p "$dir"
  log "starting redis-server on 127.0.0.1:$port (AOF, data in $dir)"
  rm -f "$(pid_file redis)"
  # --daemonize yes: redis forks and writes its own pid file (our "started by us" marker).
  redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
    --appendonly yes --appendfsync everysec --dir "$dir" \
    --daemonize yes --pidfile "$(pid_file redis)" --logfile "$(redis_log)" \
    >>"$(redis_log)" 2>&1 </dev/null 9>&- || fail_service redis "$REDIS_URL" "$(redis_log)" "redis-server failed to start"
  local i; for ((i = 0; i < 50; i++)); do [[ -s $(pid_file redis) ]] && break; sleep 0.1; done
  wait_ready redis "$REDIS_URL" "$(redis_log)" 60 redis_probe redis "$REDIS_PAT"
}

redis_ours() { pid_alive redis "$REDIS_PAT"; }

redis_down() {
  # SIGTERM makes redis fsync the AOF and exit cleanly.
  stop_pid redis "$REDIS_PAT" 30
}
redis_prereq() { need_cmd redis-cli redis-tools; }
