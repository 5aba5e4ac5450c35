# verzuim-relay container image. Node 24 LTS: Node 20 is end of life.
# Build: docker build --build-arg VERSION=$(node -p "require('./package.json').version") -t verzuim-relay .
# scripts/verify-runtime.sh reproduces both stages without an engine (CI runs it).
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
ARG VERSION=0.0.0-unknown
LABEL org.opencontainers.image.title="verzuim-relay" \
      org.opencontainers.image.description="Fetches verzuimmeldingen from DUO's ROD over mutual TLS and forwards them by e-mail to the municipality's instances." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="EUPL-1.2" \
      nl.verzuim-relay.stop-timeout-seconds="90"
# MALLOC_MMAP_THRESHOLD_: glibc serves blocks of 128 KB and more by mmap and returns them when freed,
# instead of raising that threshold and keeping large blocks in its heap. MALLOC_TRIM_THRESHOLD_: and keeps
# up to 4 MB free at the top of its heap instead of giving back every 128 KB and taking it again at the
# next commit (src/app/node-flags.ts).
ENV NODE_ENV=production \
    VERZUIM_RELAY_CONFIG=/config/verzuim-relay.yaml \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=4194304
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json LICENSE ./
COPY config/verzuim-relay.example.yaml ./config/
# The database lives on a volume; the configuration and certificates are mounted read-only.
RUN mkdir -p /data /config /certs && chown 1000:1000 /data
# The image's node user, by number, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 1000:1000
VOLUME ["/data"]
# Stop time: on SIGTERM the relay stops the schedule, aborts a ROD request or wait in progress,
# finishes the mail in hand (at most the SMTP timeout, 60 s) and closes the database. Give it
# 90 s before SIGKILL: docker stop -t 90, stop_grace_period: 90s, terminationGracePeriodSeconds: 90.
STOPSIGNAL SIGTERM
# Liveness only: the daemon's heartbeat. A ROD maintenance or a failed cycle is
# not a reason to restart; readiness (plain "healthcheck") is for monitoring.
HEALTHCHECK --interval=1m --timeout=30s --start-period=1m --retries=3 \
  CMD ["node", "dist/app/cli.js", "healthcheck", "--liveness"]
# --optimize-for-size: a heap that stays close to what is live; --no-concurrent-recompilation: V8 optimises
# on the main thread instead of in a worker whose malloc arena held some 30 MB at its peak (docs/performance.md).
ENTRYPOINT ["node", "--optimize-for-size", "--no-concurrent-recompilation", "dist/app/cli.js"]
CMD ["run"]
