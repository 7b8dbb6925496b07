# shellcheck shell=bash
# Shared helpers for deploy/local/*.sh. Sourced, never executed.
# Everything a script writes lives under $TALLY_DATA_DIR (default <repo>/.data, git-ignored).

TALLY_LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TALLY_ROOT="${TALLY_ROOT:-$(cd "$TALLY_LOCAL_DIR/../.." && pwd)}"
TALLY_DATA_DIR="${TALLY_DATA_DIR:-$TALLY_ROOT/.data}"
mkdir -p "$TALLY_DATA_DIR"
TALLY_DATA_DIR="$(cd "$TALLY_DATA_DIR" && pwd)"
TALLY_LOG_DIR="$TALLY_DATA_DIR/logs"
TALLY_PID_DIR="$TALLY_DATA_DIR/pids"
mkdir -p "$TALLY_LOG_DIR" "$TALLY_PID_DIR"
export TALLY_ROOT TALLY_DATA_DIR

# Profile: `default` = one redis, one Kafka broker; `cluster` = Redis Cluster (3 masters) and 3 Kafka brokers
# (replication factor 3, min.insync.replicas 2). Postgres and ClickHouse are the same in both. See README.md.
TALLY_PROFILE="${TALLY_PROFILE:-default}"
case "$TALLY_PROFILE" in
  default)
    TALLY_SERVICES=(redis postgres clickhouse kafka) ;;
  cluster)
    TALLY_SERVICES=(redis-cluster postgres clickhouse kafka-cluster)
    export REDIS_URL="${REDIS_URL:-redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003}"
    export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094}"
    export KAFKA_REPLICATION_FACTOR="${KAFKA_REPLICATION_FACTOR:-3}"
    export KAFKA_MIN_INSYNC_REPLICAS="${KAFKA_MIN_INSYNC_REPLICAS:-2}" ;;
  *) printf '[tally] ERROR: TALLY_PROFILE=%s: expected default or cluster\n' "$TALLY_PROFILE" >&2; exit 2 ;;
esac
export TALLY_PROFILE

# Connection settings shared with the apps (same names everywhere, see README.md).
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tally}"
export CLICKHOUSE_URL="${CLICKHOUSE_URL:-http://127.0.0.1:8123}"
export CLICKHOUSE_DATABASE="${CLICKHOUSE_DATABASE:-tally}"
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"

log()  { printf '[tally] %s\n' "$*" >&2; }
warn() { printf '[tally] WARNING: %s\n' "$*" >&2; }
die()  { printf '[tally] ERROR: %s\n' "$*" >&2; exit 1; }

# url_host URL / url_port URL DEFAULT / url_path URL — tiny URL parsing (scheme://[user[:pw]@]host[:port][/path][?q]).
_url_hostport() { local u="${1#*://}"; u="${u%%/*}"; u="${u%%\?*}"; u="${u##*@}"; printf '%s' "$u"; }
url_host() { local hp; hp="$(_url_hostport "$1")"; if [[ $hp == \[* ]]; then hp="${hp#[}"; printf '%s' "${hp%%]*}"; else printf '%s' "${hp%%:*}"; fi; }
url_port() { local hp; hp="$(_url_hostport "$1")"; hp="${hp##*]}"; if [[ $hp == *:* ]]; then printf '%s' "${hp##*:}"; else printf '%s' "$2"; fi; }
url_path() { local u="${1#*://}"; if [[ $u == */* ]]; then u="/${u#*/}"; printf '%s' "${u%%\?*}"; fi; }

is_local_host() { case "$1" in 127.*|localhost|::1|0.0.0.0|"") return 0 ;; *) return 1 ;; esac; }

# apt_install PKG... — install missing Debian packages non-interactively.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages yourself: $*"
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  log "installing with apt-get: $*"
  # A policy-rc.d that forbids starting services: we start them ourselves, on our own terms.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
  fi
  local rc=0
  {
    if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || [[ -z ${TALLY_APT_UPDATED:-} ]]; then
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
      TALLY_APT_UPDATED=1
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
  } >>"$TALLY_LOG_DIR/apt.log" 2>&1 || rc=$?
  [[ $created_policy -eq 1 ]] && $sudo rm -f "$policy"
  [[ $rc -eq 0 ]] || { tail -n 20 "$TALLY_LOG_DIR/apt.log" >&2; die "apt-get install $* failed (log: $TALLY_LOG_DIR/apt.log)"; }
}

# need_cmd CMD PKG... — install PKG(s) when CMD is not on PATH.
need_cmd() { local c="$1"; shift; command -v "$c" >/dev/null 2>&1 || [[ -x /usr/sbin/$c ]] || apt_install "$@"; }

# --- pid bookkeeping: a pid file under .data/pids means "started by us" ----------------------
pid_file() { printf '%s/%s.pid' "$TALLY_PID_DIR" "$1"; }

# pid_alive NAME PATTERN — pid file exists, process is alive and its cmdline matches PATTERN (guards pid reuse).
pid_alive() {
  local f; f="$(pid_file "$1")"; [[ -s $f ]] || return 1
  local pid; pid="$(head -n1 "$f" | tr -dc 0-9)"; [[ -n $pid ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ -z ${2:-} ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
}
pid_of() { head -n1 "$(pid_file "$1")" | tr -dc 0-9; }

# stop_pid NAME PATTERN [TIMEOUT] — SIGTERM the recorded process, wait, SIGKILL as last resort.
stop_pid() {
  local name="$1" pat="$2" timeout="${3:-30}" f pid i
  f="$(pid_file "$name")"
  if ! pid_alive "$name" "$pat"; then rm -f "$f"; return 0; fi
  pid="$(pid_of "$name")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then warn "$name did not stop in ${timeout}s, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$f"
}

# spawn NAME LOGFILE CMD... — start CMD detached (own session, stdin closed, output to LOGFILE),
# record its pid in .data/pids/NAME.pid. The process execs CMD, so the pid is the service's pid.
spawn() {
  local name="$1" logf="$2"; shift 2
  local pf; pf="$(pid_file "$name")"
  printf '\n===== %s starting %s =====\n' "$(date -Is)" "$name" >>"$logf"
  setsid bash -c '
    pf="$1"; shift
    for fd in /proc/$$/fd/*; do n="${fd##*/}"; [ "$n" -gt 2 ] 2>/dev/null && [ "$n" != 255 ] && eval "exec $n>&-"; done
    echo $$ >"$pf"
    exec "$@"' tally-spawn "$pf" "$@" </dev/null >>"$logf" 2>&1 &
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $pf ]] && break; sleep 0.1; done
}

# wait_ready NAME URL LOGFILE TIMEOUT PROBE_FN [PIDNAME PATTERN] — poll PROBE_FN until it succeeds.
wait_ready() {
  local name="$1" url="$2" logf="$3" timeout="$4" probe="$5" pidname="${6:-}" pat="${7:-}"
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if "$probe"; then log "$name is ready at $url"; return 0; fi
    if [[ -n $pidname ]] && ! pid_alive "$pidname" "$pat"; then
      fail_service "$name" "$url" "$logf" "process exited during startup"
    fi
    sleep 1
  done
  fail_service "$name" "$url" "$logf" "not ready after ${timeout}s"
}

fail_service() {
  local name="$1" url="$2" logf="$3" why="$4"
  printf '\n[tally] ERROR: %s at %s: %s\n[tally] log file: %s\n' "$name" "$url" "$why" "$logf" >&2
  if [[ -f $logf ]]; then printf '[tally] last 20 lines of %s:\n' "$logf" >&2; tail -n 20 "$logf" >&2; fi
  exit 1
}

# tsx runner: the repo's own tsx (same as `npx tsx`, without the npm wrapper so signals reach the app).
# Node with tsx's loader, not the tsx wrapper: signals reach the app itself, so Ctrl-C is a graceful shutdown.
# --conditions=tally-source: workspace packages resolve to their sources, not to a (maybe stale) dist/.
tsx_cmd() {
  if [[ -d $TALLY_ROOT/node_modules/tsx ]]; then TSX=(node --conditions=tally-source --import tsx)
  else TSX=(npx --yes tsx --conditions=tally-source); fi
}
run_tsx() { local TSX; tsx_cmd; "${TSX[@]}" "$@"; }

ensure_node_modules() {
  if [[ ! -d $TALLY_ROOT/node_modules ]]; then
    if [[ -f $TALLY_ROOT/package-lock.json ]]; then log "npm ci"; (cd "$TALLY_ROOT" && npm ci)
    else log "npm install"; (cd "$TALLY_ROOT" && npm install); fi
  fi
}
