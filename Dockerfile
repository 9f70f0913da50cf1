# syntax=docker/dockerfile:1
# vigil's production image (README "Deploying as a sidecar").
#
# Stage `build` compiles the TypeScript with the dev dependencies. The runtime stage holds only
# the production dependencies, dist/, web/ (the dashboard's static files) and the default config;
# it runs as a non-root user (uid 1000, numeric so Kubernetes can verify runAsNonRoot) and
# writes nowhere but /var/lib/vigil (state.dir: mount an emptyDir or a volume there), so the
# root filesystem can be read-only.
# No HEALTHCHECK: Kubernetes probes /livez and /readyz on the api port instead. npm's cache is
# a BuildKit cache mount, so it never lands in a layer.
#
# test/deploy/dockerfile.test.ts lints this file and runs its steps outside Docker (same
# commands, a clean folder, a read-only tree). Node 24: an LTS line maintained until April 2028.

FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY src ./src
RUN npm run build

FROM node:24-trixie-slim
ENV NODE_ENV=production VIGIL_CONFIG=/etc/vigil/config.yaml
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY web ./web
COPY config.yaml /etc/vigil/config.yaml
RUN mkdir -p /var/lib/vigil && chown 1000:1000 /var/lib/vigil
USER 1000:1000
# ingest (loopback by default: the pod's containers push on localhost), api, metrics
EXPOSE 4318 8080 9464
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve", "--config", "/etc/vigil/config.yaml"]
