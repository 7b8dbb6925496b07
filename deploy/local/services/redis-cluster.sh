# shellcheck shell=bash
# Redis Cluster, 3 masters, no replicas (cluster profile). Sourced by services.sh (needs lib.sh).
# Ours: one Debian redis-server per port in $REDIS_CLUSTER_PORTS (default 7001 7002 7003; cluster bus on
# port + 10000), cluster-enabled, AOF like the single redis, data and nodes.conf in .data/redis-cluster/<port>/,
# slots assigned once with `redis-cli --cluster create`. On later starts nodes.conf brings the cluster back.

# The ports come from REDIS_URL when it is a redis+cluster:// seed list of local nodes (the cluster profile's).
if [[ -z ${REDIS_CLUSTER_PORTS:-} && $REDIS_URL == redis+cluster://* ]]; then
  REDIS_CLUSTER_PORTS="$(tr ',' '\n' <<<"${REDIS_URL#redis+cluster://}" | sed 's/^.*@//; s/^.*://; s/[^0-9].*$//' | tr '\n' ' ')"
fi
REDIS_CLUSTER_PORTS="${REDIS_CLUSTER_PORTS:-7001 7002 7003}"
REDIS_CLUSTER_DIR="$TALLY_DATA_DIR/redis-cluster"
REDIS_CLUSTER_PAT="redis-server"

_redis_cluster_ports() { local p; for p in $REDIS_CLUSTER_PORTS; do printf '%s\n' "$p"; done; }
_redis_cluster_first() { _redis_cluster_ports | head -n1; }
_redis_cluster_pidname() { printf 'redis-cluster-%s' "$1"; }
redis_cluster_log() { printf '%s/redis-cluster-%s.log' "$TALLY_LOG_DIR" "${1:-$(_redis_cluster_first)}"; }
redis_cluster_url() {
  local p hosts=()
  for p in $REDIS_CLUSTER_PORTS; do hosts+=("127.0.0.1:$p"); done
  local IFS=,; printf 'redis+cluster://%s' "${hosts[*]}"
}

# _redis_cluster_info PORT FIELD — one field of CLUSTER INFO on that node (empty when it does not answer).
_redis_cluster_info() {
  timeout 5 redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}
_redis_cluster_node_up() { [[ $(timeout 5 redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning PING 2>/dev/null) == PONG ]]; }

# Ready = every node says cluster_state:ok, all 16384 slots assigned, and as many masters as ports.
redis_cluster_probe() {
  command -v redis-cli >/dev/null 2>&1 || return 1
  local p n; n="$(_redis_cluster_ports | wc -l)"
  for p in $REDIS_CLUSTER_PORTS; do
    [[ $(_redis_cluster_info "$p" cluster_state) == ok ]] || return 1
    [[ $(_redis_cluster_info "$p" cluster_slots_assigned) == 16384 ]] || return 1
    [[ $(_redis_cluster_info "$p" cluster_size) == "$n" ]] || return 1
  done
}

_redis_cluster_start_node() {
  local port="$1" name; name="$(_redis_cluster_pidname "$port")"
  if _redis_cluster_node_up "$port"; then return 0; fi
  local dir="$REDIS_CLUSTER_DIR/$port"; mkdir -p "$dir"
  log "starting redis-server (cluster mode) on 127.0.0.1:$port, data in $dir"
  rm -f "$(pid_file "$name")"
  redis-server --bind 127.0.0.1 --port "$port" --protected-mode no \
    --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000 \
    --appendonly yes --appendfsync everysec --dir "$dir" \
    --daemonize yes --pidfile "$(pid_file "$name")" --logfile "$(redis_cluster_log "$port")" \
    >>"$(redis_cluster_log "$port")" 2>&1 </dev/null 9>&- \
    || fail_service redis-cluster "127.0.0.1:$port" "$(redis_cluster_log "$port")" "redis-server failed to start"
  local i; for ((i = 0; i < 50; i++)); do [[ -s $(pid_file "$name") ]] && break; sleep 0.1; done
  _REDIS_CLUSTER_WAITING_FOR="$port" # a global, not wait_ready's locals
  _redis_cluster_node_probe() { _redis_cluster_node_up "$_REDIS_CLUSTER_WAITING_FOR"; }
  wait_ready "redis-cluster node $port" "127.0.0.1:$port" "$(redis_cluster_log "$port")" 60 _redis_cluster_node_probe "$name" "$REDIS_CLUSTER_PAT"
}

redis_cluster_up() {
  if redis_cluster_probe; then return 0; fi
  need_cmd redis-server redis-server
  need_cmd redis-cli redis-tools
  local p; for p in $REDIS_CLUSTER_PORTS; do _redis_cluster_start_node "$p"; done
  # Fresh nodes each know only themselves and hold no slots: create the cluster once.
  # Nodes restarted from their nodes.conf already know each other: just wait for cluster_state:ok.
  local fresh=1
  for p in $REDIS_CLUSTER_PORTS; do
    if [[ $(_redis_cluster_info "$p" cluster_known_nodes) != 1 || $(_redis_cluster_info "$p" cluster_slots_assigned) != 0 ]]; then fresh=0; fi
  done
  if [[ $fresh -eq 1 ]]; then
    local nodes=(); for p in $REDIS_CLUSTER_PORTS; do nodes+=("127.0.0.1:$p"); done
    log "creating the Redis Cluster: ${nodes[*]} (masters only)"
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
      >>"$(redis_cluster_log)" 2>&1 </dev/null \
      || fail_service redis-cluster "$(redis_cluster_url)" "$(redis_cluster_log)" "redis-cli --cluster create failed"
  fi
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if redis_cluster_probe; then log "redis-cluster is ready at $(redis_cluster_url)"; return 0; fi
    sleep 1
  done
  local why="no cluster_state:ok after 60s"
  [[ $fresh -eq 1 ]] || why="$why (nodes were not fresh: a half-made cluster? stop it and delete $REDIS_CLUSTER_DIR to start over)"
  fail_service redis-cluster "$(redis_cluster_url)" "$(redis_cluster_log)" "$why"
}

# Ours when any node's pid file points at a live redis-server.
redis_cluster_ours() {
  local p; for p in $REDIS_CLUSTER_PORTS; do pid_alive "$(_redis_cluster_pidname "$p")" "$REDIS_CLUSTER_PAT" && return 0; done
  return 1
}
redis_cluster_pids() {
  local p out=(); for p in $REDIS_CLUSTER_PORTS; do
    if pid_alive "$(_redis_cluster_pidname "$p")" "$REDIS_CLUSTER_PAT"; then out+=("$(pid_of "$(_redis_cluster_pidname "$p")")"); fi
  done
  printf '%s' "${out[*]}"
}

redis_cluster_down() {
  # SIGTERM: each node fsyncs its AOF and saves nodes.conf.
  local p; for p in $REDIS_CLUSTER_PORTS; do stop_pid "$(_redis_cluster_pidname "$p")" "$REDIS_CLUSTER_PAT" 30; done
}
redis_cluster_prereq() { need_cmd redis-cli redis-tools; }
