# verzuim-relay container image. Node 24 LTS: Node 20 is end of life.
# Build: docker build -t verzuim-relay .
FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its native addon when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY tools ./tools
# npm ci builds dist/ (the relay) and build/ (tooling); only dist/ goes into the image.
RUN npm ci && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    VERZUIM_RELAY_CONFIG=/config/verzuim-relay.yaml
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config/verzuim-relay.example.yaml ./config/
# The database lives on a volume; the configuration and certificates are mounted read-only.
RUN mkdir -p /data /config /certs && chown node:node /data
USER node
VOLUME ["/data"]
# Liveness only: the daemon's heartbeat. A ROD maintenance or a failed cycle is
# not a reason to restart; readiness (plain "healthcheck") is for monitoring.
HEALTHCHECK --interval=1m --timeout=30s --start-period=1m --retries=3 \
  CMD ["node", "dist/app/cli.js", "healthcheck", "--liveness"]
ENTRYPOINT ["node", "dist/app/cli.js"]
CMD ["run"]
