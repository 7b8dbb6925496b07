#!/usr/bin/env bash
# `npm run stop`: stop the API and workers started by start.sh (SIGTERM, graceful), then the
# backing services that services.sh started. Data stays in place.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

# Prefer signalling start.sh: it forwards SIGTERM to both apps and waits for them.
stop_pid start "deploy/local/start.sh" 45
# Fallback for apps whose start.sh is gone.
for app in workers api; do
  stop_pid "$app" "apps/$app/src/main.ts" 30
done
bash "$HERE/services.sh" down
