#!/usr/bin/env bash
# Local backing services for Tally: redis, postgres, clickhouse, kafka.
#
#   deploy/local/services.sh up     [service...]   # default: all four, in that order
#   deploy/local/services.sh down   [service...]   # stops only what this script started
#   deploy/local/services.sh status [service...]
#
# A service that already answers at its URL is used as it is. Otherwise it is installed if missing
# (apt-get) and started as a plain background process on loopback, with data and logs under
# ${TALLY_DATA_DIR:-<repo>/.data}. What we started is recorded in .data/pids. See README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
ALL_SERVICES=(redis postgres clickhouse kafka)
for s in "${ALL_SERVICES[@]}"; do
  # shellcheck disable=SC1090
  source "$HERE/services/$s.sh"
done

usage() { echo "usage: $0 up|down|status [${ALL_SERVICES[*]}]" >&2; exit 2; }

cmd="${1:-}"; [[ -n $cmd ]] || usage; shift
services=("$@"); [[ ${#services[@]} -gt 0 ]] || services=("${ALL_SERVICES[@]}")
for s in "${services[@]}"; do
  [[ " ${ALL_SERVICES[*]} " == *" $s "* ]] || { echo "unknown service: $s" >&2; usage; }
done

# Serialize concurrent invocations (e.g. two terminals running `npm start`).
exec 9>"$TALLY_PID_DIR/.services.lock"
flock -w 300 9 || die "another services.sh is running (lock $TALLY_PID_DIR/.services.lock)"

case "$cmd" in
  up)
    for s in "${services[@]}"; do
      "${s}_prereq" # the probe's client (redis-cli, psql, curl, node), installed if missing
      if "${s}_probe"; then
        if "${s}_ours"; then log "$s: already running (ours) at $("${s}_url")"; else log "$s: using the one already answering at $("${s}_url")"; fi
        # Postgres still needs the database to exist, even on someone else's server.
        [[ $s != postgres ]] || postgres_up
        # The Kafka jars too: test suites start brokers of their own (private broker, simulator restarts).
        [[ $s != kafka ]] || _kafka_libs
      else
        "${s}_up"
      fi
    done
    log "all up: ${services[*]}  (status: bash deploy/local/services.sh status)"
    ;;
  down)
    # Reverse order: kafka, clickhouse, postgres, redis.
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do
      s="${services[$i]}"
      if "${s}_ours"; then "${s}_down"; else
        "${s}_down" # clears stale pid files; never touches a process we did not start
        if "${s}_probe"; then log "$s: left running (not started by us) at $("${s}_url")"; fi
      fi
    done
    log "down done (data kept in $TALLY_DATA_DIR)"
    ;;
  status)
    rc=0
    printf '%-11s %-45s %-5s %s\n' SERVICE URL STATE OWNER
    for s in "${services[@]}"; do
      state=down owner=-
      if "${s}_probe"; then state=up; else rc=1; fi
      if "${s}_ours"; then owner="ours (pid $(pid_of "$s" 2>/dev/null || echo ?), log $TALLY_LOG_DIR/$s.log)"
      elif [[ $state == up ]]; then owner=external; fi
      printf '%-11s %-45s %-5s %s\n' "$s" "$("${s}_url")" "$state" "$owner"
    done
    exit "$rc"
    ;;
  *) usage ;;
esac
