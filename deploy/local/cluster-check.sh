#!/usr/bin/env bash
# The cluster profile's proof, run by hand (not part of `npm test`: it kills brokers of the shared cluster):
#   bash deploy/local/cluster-check.sh
# Brings up the cluster profile's services (redis-cluster, postgres, clickhouse, kafka-cluster), runs the migrations
# against them (events topic with replication factor 3, min.insync.replicas 2), then deploy/local/cluster-check.mjs:
# Redis Cluster ok with 3 masters; the events topic's shape; acks=all accepted with one broker down, refused
# (NOT_ENOUGH_REPLICAS) with two down, accepted again after restart, nothing acknowledged lost. About 2-3 minutes.
# Leave API/workers of the cluster profile stopped while it runs, or they see the brokers go.
set -euo pipefail
export TALLY_PROFILE=cluster
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
cd "$TALLY_ROOT"
ensure_node_modules
bash "$HERE/services.sh" up
log "migrations (cluster profile)"
run_tsx apps/api/src/cli/migrate.ts
node "$HERE/cluster-check.mjs"
