# Tally api. Build from the repo root:  docker build -f deploy/docker/api.Dockerfile .
# (docker compose does this for you; see docker-compose.yml.)
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
# Whole workspace (node_modules, .data and .git are excluded by api.Dockerfile.dockerignore).
# tsx and the workspace links are needed at runtime, so dev dependencies are installed too.
COPY . .
RUN if [ -f package-lock.json ]; then npm ci --include=dev; else npm install --include=dev; fi \
 && npm cache clean --force
USER node
ENV API_PORT=3000
EXPOSE 3000
CMD ["npx", "tsx", "apps/api/src/main.ts"]
