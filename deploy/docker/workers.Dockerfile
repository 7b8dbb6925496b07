# Tally workers. Build from the repo root:  docker build -f deploy/docker/workers.Dockerfile .
# (docker compose does this for you; see docker-compose.yml.)

# Build: the whole workspace (node_modules, dist, .data and .git are excluded by workers.Dockerfile.dockerignore),
# compiled to dist/ by `npm run build` (every package and app, the dashboard's Vite build included), then the
# dev dependencies (TypeScript, tsx, Nx, vitest) pruned.
FROM node:20-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NX_DAEMON=false \
    NX_NO_CLOUD=true
COPY . .
RUN npm ci --include=dev \
 && npm run build \
 && npm prune --omit=dev \
 && rm -rf .nx \
 && npm cache clean --force

# Run: compiled JavaScript under plain node. Workspace packages resolve to their dist/ (the "default" export
# condition); the SQL migrations, Lua scripts and the dashboard build sit where dist/ looks for them (the package
# roots), so the tree is copied as it is.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    WORKERS_PORT=3001
COPY --from=build --chown=node:node /app /app
USER node
EXPOSE 3001
CMD ["node", "apps/workers/dist/main.js"]
