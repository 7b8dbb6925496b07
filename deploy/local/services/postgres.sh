# shellcheck shell=bash
# PostgreSQL at $DATABASE_URL. Sourced by services.sh (needs lib.sh).
# If nothing answers: start the Debian cluster listening on the URL's port (pg_ctlcluster), installing
# postgresql first when there is none. Then make sure the database named in the URL exists.

postgres_url() { printf '%s' "$DATABASE_URL"; }
postgres_log() { printf '%s/postgres.log' "$TALLY_LOG_DIR"; }

# The same URL pointed at the always-present "postgres" database (the target one may not exist yet).
_pg_admin_url() {
  local u="${DATABASE_URL%%\?*}" q=""
  [[ $DATABASE_URL == *\?* ]] && q="?${DATABASE_URL#*\?}"
  local scheme="${u%%://*}" rest="${u#*://}"
  printf '%s://%s/postgres%s' "$scheme" "${rest%%/*}" "$q"
}
_pg_dbname() { local p; p="$(url_path "$DATABASE_URL")"; p="${p#/}"; printf '%s' "${p:-postgres}"; }

postgres_probe() {
  command -v psql >/dev/null 2>&1 || return 1
  [[ $(PGCONNECT_TIMEOUT=3 timeout 5 psql "$(_pg_admin_url)" -XtAc 'SELECT 1' 2>/dev/null) == 1 ]]
}

# Prints "<version> <cluster>" of the Debian cluster configured on port $1 (highest version first).
_pg_find_cluster() {
  command -v pg_lsclusters >/dev/null 2>&1 || return 0
  pg_lsclusters -h 2>/dev/null | awk -v p="$1" '$3 == p { print $1, $2 }' | sort -rn | head -n1
}

_pg_trust_loopback() {
  # Fresh Debian clusters require passwords on TCP; the local default URL has none. Trust loopback only.
  local ver="$1" name="$2" hba="/etc/postgresql/$1/$2/pg_hba.conf"
  [[ -f $hba ]] || return 0
  log "configuring trust auth for 127.0.0.1/::1 in $hba (local dev cluster)"
  sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
}

postgres_up() {
  if ! postgres_probe; then
    local host port; host="$(url_host "$DATABASE_URL")"; port="$(url_port "$DATABASE_URL" 5432)"
    is_local_host "$host" || fail_service postgres "$DATABASE_URL" "$(postgres_log)" "not answering and not a local address, so not starting one"
    local installed=0
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
      apt_install postgresql postgresql-client; installed=1
    fi
    local cl; cl="$(_pg_find_cluster "$port")"
    if [[ -z $cl ]]; then
      local ver; ver="$(ls /usr/lib/postgresql | sort -rn | head -n1)"
      log "no PostgreSQL cluster on port $port: creating cluster $ver/tally"
      pg_createcluster "$ver" tally -p "$port" >>"$(postgres_log)" 2>&1 || fail_service postgres "$DATABASE_URL" "$(postgres_log)" "pg_createcluster failed"
      cl="$ver tally"; installed=1
    fi
    local ver="${cl%% *}" name="${cl##* }"
    [[ $installed -eq 1 ]] && _pg_trust_loopback "$ver" "$name"
    log "starting PostgreSQL cluster $ver/$name (pg_ctlcluster)"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >>"$(postgres_log)" 2>&1 </dev/null 9>&- \
      || fail_service postgres "$DATABASE_URL" "$(postgres_log)" "pg_ctlcluster $ver $name start failed (see also /var/log/postgresql/postgresql-$ver-$name.log)"
    # Record what we started: the cluster (for down) and the postmaster pid (for status).
    printf '%s %s\n' "$ver" "$name" >"$TALLY_PID_DIR/postgres.cluster"
    local datadir; datadir="$(pg_lsclusters -h | awk -v v="$ver" -v n="$name" '$1 == v && $2 == n { print $6 }')"
    head -n1 "$datadir/postmaster.pid" >"$(pid_file postgres)" 2>/dev/null || true
    wait_ready postgres "$DATABASE_URL" "/var/log/postgresql/postgresql-$ver-$name.log" 60 postgres_probe
  fi
  local db; db="$(_pg_dbname)"
  if [[ $(psql "$(_pg_admin_url)" -XtAc "SELECT 1 FROM pg_database WHERE datname = '${db//\'/\'\'}'") != 1 ]]; then
    log "creating database $db"
    psql "$(_pg_admin_url)" -Xqc "CREATE DATABASE \"${db//\"/\"\"}\"" || die "could not create database $db at $DATABASE_URL"
  fi
}

postgres_ours() { [[ -s $TALLY_PID_DIR/postgres.cluster ]]; }

postgres_down() {
  local f="$TALLY_PID_DIR/postgres.cluster"
  if [[ -s $f ]]; then
    local ver name; read -r ver name <"$f"
    log "stopping PostgreSQL cluster $ver/$name (we started it)"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" stop -m fast >>"$(postgres_log)" 2>&1 || warn "pg_ctlcluster $ver $name stop failed"
  fi
  rm -f "$f" "$(pid_file postgres)"
}
postgres_prereq() { need_cmd psql postgresql-client; }
