#!/usr/bin/env bash
# `npm test`: services up, migrations, typecheck and lint, then the unit, integration and e2e vitest projects in that
# order, stopping at the first failing project. Services are left running for the next run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
cd "$TALLY_ROOT"

ensure_node_modules
log "profile $TALLY_PROFILE (TALLY_PROFILE): Redis $REDIS_URL, Kafka $KAFKA_BROKERS"
bash "$HERE/services.sh" up

log "migrations (Postgres, ClickHouse, Kafka topics)"
run_tsx apps/api/src/cli/migrate.ts

log "dashboard build and the browser for its tests"
bash "$HERE/dashboard.sh" --browser

log "typecheck and lint (Nx; module boundaries: the domain package imports no adapter)"
NX_DAEMON=false npx nx run-many -t typecheck lint --outputStyle=static

for project in unit integration e2e; do
  log "vitest project: $project"
  npx vitest run --project "$project"
done
log "all test projects passed"
