#!/usr/bin/env bash
# Local backing services for Tally: redis, postgres, clickhouse, kafka (TALLY_PROFILE=cluster: redis-cluster,
# postgres, clickhouse, kafka-cluster).
#
#   deploy/local/services.sh up     [service...]   # default: the profile's four, in that order
#   deploy/local/services.sh down   [service...]   # stops only what this script started
#   deploy/local/services.sh status [service...]
#   deploy/local/services.sh kill-broker N [SIGNAL] # kafka-cluster node N (1..3): SIGKILL (a crash) unless SIGNAL=TERM
#   deploy/local/services.sh start-broker N         # start it again, wait until it is a live broker
#
# A service that already answers at its URL is used as it is. Otherwise it is installed if missing
# (apt-get) and started as a plain background process on loopback, with data and logs under
# ${TALLY_DATA_DIR:-<repo>/.data}. What we started is recorded in .data/pids. See README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# Every service either profile knows; kafka-cluster after kafka (it uses kafka.sh's jars and log4j writer).
ALL_SERVICES=(redis redis-cluster postgres clickhouse kafka kafka-cluster)
for s in "${ALL_SERVICES[@]}"; do
  # shellcheck disable=SC1090
  source "$HERE/services/$s.sh"
done
# Shell function prefix of a service: redis-cluster -> redis_cluster_up, ...
fn() { printf '%s' "${1//-/_}"; }

usage() { echo "usage: $0 up|down|status [${ALL_SERVICES[*]}] | kill-broker N [TERM] | start-broker N   (profile: $TALLY_PROFILE)" >&2; exit 2; }

cmd="${1:-}"; [[ -n $cmd ]] || usage; shift

# One broker of the 3-broker cluster, without the services lock: a test or the simulator kills one mid-run,
# perhaps while another terminal is in `services.sh up`.
case "$cmd" in
  kill-broker) [[ $# -ge 1 ]] || usage; kafka_cluster_kill_broker "$1" "${2:-KILL}"; exit 0 ;;
  start-broker) [[ $# -eq 1 ]] || usage; kafka_cluster_start_broker "$1"; exit 0 ;;
esac

services=("$@"); [[ ${#services[@]} -gt 0 ]] || services=("${TALLY_SERVICES[@]}")
for s in "${services[@]}"; do
  [[ " ${ALL_SERVICES[*]} " == *" $s "* ]] || { echo "unknown service: $s" >&2; usage; }
done

# Serialize concurrent invocations (e.g. two terminals running `npm start`).
exec 9>"$TALLY_PID_DIR/.services.lock"
flock -w 300 9 || die "another services.sh is running (lock $TALLY_PID_DIR/.services.lock)"

case "$cmd" in
  up)
    log "profile: $TALLY_PROFILE"
    for s in "${services[@]}"; do
      f="$(fn "$s")"
      "${f}_prereq" # the probe's client (redis-cli, psql, curl, node), installed if missing
      if "${f}_probe"; then
        if "${f}_ours"; then log "$s: already running (ours) at $("${f}_url")"; else log "$s: using the one already answering at $("${f}_url")"; fi
        # Postgres still needs the database to exist, even on someone else's server.
        [[ $s != postgres ]] || postgres_up
        # The Kafka jars too: test suites start brokers of their own (private broker, simulator restarts).
        [[ $s != kafka && $s != kafka-cluster ]] || _kafka_libs
      else
        "${f}_up"
      fi
    done
    log "all up: ${services[*]}  (status: bash deploy/local/services.sh status)"
    ;;
  down)
    # Reverse order: kafka, clickhouse, postgres, redis.
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do
      s="${services[$i]}"; f="$(fn "$s")"
      if "${f}_ours"; then "${f}_down"; else
        "${f}_down" # clears stale pid files; never touches a process we did not start
        if "${f}_probe"; then log "$s: left running (not started by us) at $("${f}_url")"; fi
      fi
    done
    log "down done (data kept in $TALLY_DATA_DIR)"
    ;;
  status)
    rc=0
    printf 'profile %s\n' "$TALLY_PROFILE"
    printf '%-13s %-60s %-8s %s\n' SERVICE URL STATE OWNER
    for s in "${services[@]}"; do
      f="$(fn "$s")" state=down owner=-
      # Services of several processes say up, degraded (some nodes answer) or down.
      if declare -F "${f}_state" >/dev/null; then state="$("${f}_state")"
      elif "${f}_probe"; then state=up; fi
      [[ $state == up ]] || rc=1
      if "${f}_ours"; then
        if declare -F "${f}_pids" >/dev/null; then owner="ours (pids $("${f}_pids"), logs $TALLY_LOG_DIR/$s-*.log)"
        else owner="ours (pid $(pid_of "$s" 2>/dev/null || echo ?), log $TALLY_LOG_DIR/$s.log)"; fi
      elif [[ $state != down ]]; then owner=external; fi
      printf '%-13s %-60s %-8s %s\n' "$s" "$("${f}_url")" "$state" "$owner"
    done
    exit "$rc"
    ;;
  *) usage ;;
esac
