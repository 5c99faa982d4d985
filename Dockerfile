# One image recipe for every workspace that has a src/main.ts:
#   docker build --build-arg WORKSPACE=services/auth --build-arg HEALTH_PORT=4001 -t platform/auth .
#   docker build --build-arg WORKSPACE=gateway       --build-arg HEALTH_PORT=8080 -t platform/gateway .
# Services run from their TypeScript sources through tsx (no compile step), as `npm start` does.
# Setup, secrets and compose: infra/README.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- manifests: the lockfile and every package.json, nothing else --------------------------------
# Dependency layers below start from this stage's output, so they are rebuilt only when a manifest
# changes, not on every source edit. It finds the workspaces itself, so a new service needs no edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package-lock.json /manifests/ \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests/ \;

# ---- stage 1, dev-deps: the whole lockfile, dev dependencies included -----------------------------
# Its only product for the runtime is tsx with its dependency closure, at the lockfile's versions.
FROM ${NODE_IMAGE} AS dev-deps
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund
# `npm query` lists tsx and everything under it as installed here (esbuild and this platform's
# @esbuild/<os>-<arch> binary), so a tsx upgrade needs no edit.
RUN mkdir /tsx \
 && npm query '#tsx, #tsx *' \
    | node -e "for (const n of JSON.parse(require('fs').readFileSync(0, 'utf8'))) console.log(n.location)" \
    | xargs cp -a --parents -t /tsx \
 && test -f /tsx/node_modules/tsx/package.json

# ---- stage 2a, prod-deps: production dependencies of the one workspace ----------------------------
# `--workspace` installs that workspace's dependencies and those of the @platform/* packages it uses,
# and nothing of the others (the auth image carries no proxy library, the gateway no argon2).
FROM ${NODE_IMAGE} AS prod-deps
ARG WORKSPACE
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN if [ -z "$WORKSPACE" ]; then echo 'build with --build-arg WORKSPACE=<folder>, e.g. services/auth' >&2; exit 1; fi \
 && npm ci --omit=dev --no-audit --no-fund --workspace "$WORKSPACE"

# ---- stage 2b, runtime ----------------------------------------------------------------------------
# Why tsx is copied from stage 1 rather than `npm ci --omit=dev && npm install --no-save tsx@<v>`:
# tsx is a root devDependency, so npm keeps treating it as dev. With --omit=dev that install adds
# nothing; without it npm reinstalls every dev dependency (eslint, typescript, turbo...). Checked with
# npm 10.8 and 11.19. Copying the closure keeps the lockfile's pinned, integrity-checked versions and
# needs no network in this stage.
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node and reaps zombies; node as PID 1 would not get the default
# signal handlers. npm is not in the process chain: `npm start` does not pass signals on reliably.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

ARG WORKSPACE
ARG HEALTH_PORT
ENV NODE_ENV=production \
    BIND_HOST=0.0.0.0 \
    DATA_DIR=/var/lib/platform \
    HEALTH_PORT=${HEALTH_PORT}

# The only place the app writes (besides /tmp, where tsx keeps an optional cache). Everything else
# is owned by root and read-only to the app, so a read-only root filesystem changes nothing.
RUN mkdir -p /var/lib/platform && chown 1000:1000 /var/lib/platform

WORKDIR /app
COPY --from=prod-deps /app/ ./
COPY --from=dev-deps /tsx/node_modules/ ./node_modules/
COPY . .
RUN if [ -z "$HEALTH_PORT" ]; then echo 'build with --build-arg HEALTH_PORT=<port serving /healthz>' >&2; exit 1; fi \
 && if [ ! -f "$WORKSPACE/src/main.ts" ]; then echo "$WORKSPACE/src/main.ts not found" >&2; exit 1; fi

# Start in the workspace folder, as `npm start -w <workspace>` does, so relative paths behave the same.
WORKDIR /app/${WORKSPACE}
# Numeric, so Kubernetes' runAsNonRoot can verify it (uid 1000 is `node` in this image).
USER 1000:1000
VOLUME ["/var/lib/platform"]

# The slim image has no curl; node's fetch does the job. Every service answers /healthz on
# HEALTH_PORT (the gateway on its plain listener).
HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.HEALTH_PORT + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "src/main.ts"]
