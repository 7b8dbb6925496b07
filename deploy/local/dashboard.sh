#!/usr/bin/env bash
# The dashboard's static build (apps/dashboard/dist, served by the API at /dashboard), built when it is missing
# or older than any of its sources or the lock file. `npm start` and `npm test` run it.
#   deploy/local/dashboard.sh            # build if needed
#   deploy/local/dashboard.sh --browser  # also install Debian's chromium for the browser tests (test/dashboard-*.e2e)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
cd "$TALLY_ROOT"

APP=apps/dashboard
ensure_node_modules
# A node_modules installed before the dashboard's packages were added lacks them: install what is missing
# (npm install adds, it removes nothing another process may be using; the lock file already names the versions).
for pkg in vite react @tanstack/react-query recharts playwright-core axe-core; do
  if [[ ! -f node_modules/$pkg/package.json && ! -f $APP/node_modules/$pkg/package.json ]]; then
    log "dashboard: $pkg is not installed, running npm install"
    npm install --no-audit --no-fund >&2
    break
  fi
done
STAMP="$APP/dist/index.html"
# Always a production build, whoever calls (vitest sets NODE_ENV=test, which would bundle React's development build).
build() { NODE_ENV=production npm run build -w "$APP" --silent >&2; }
if [[ ! -f $STAMP ]]; then
  log "dashboard: no build yet, building $APP"
  build
elif [[ -n $(find "$APP/src" "$APP/index.html" "$APP/vite.config.ts" "$APP/package.json" package-lock.json -newer "$STAMP" -print -quit) ]]; then
  log "dashboard: sources changed since the last build, rebuilding $APP"
  build
else
  log "dashboard: build is up to date ($APP/dist)"
fi

if [[ ${1:-} == --browser ]]; then
  # Playwright's own browser download cannot work here: the tests drive Debian's chromium (playwright-core, executablePath).
  if [[ ! -x /usr/bin/chromium ]]; then apt_install chromium fonts-dejavu-core; fi
  log "browser for the dashboard tests: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
fi
