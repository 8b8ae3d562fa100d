# syntax=docker/dockerfile:1
#
# One image for every agentmesh service; the first argument picks the service:
#
#   docker build -t agentmesh:0.1.0 .
#   docker run --rm agentmesh:0.1.0 gateway        # or supervisor, summarizer, ...
#
# The services run from their TypeScript sources through tsx (a runtime
# dependency), as `agentmesh up` runs them, so there is no compile step.
# Base image: Node 20 (package.json engines), pinned to an exact release. To pin
# by digest as well: docker buildx imagetools inspect node:20.20.2-bookworm-slim,
# then NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:<digest> (docs/deploy.md).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Production dependencies only, from the lock file.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    AGENTMESH_HOME=/var/lib/agentmesh
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY gen ./gen
COPY mesh ./mesh
COPY gateway ./gateway
COPY services ./services
COPY config ./config
COPY policy/build ./policy/build
COPY deploy/docker/entrypoint.sh /usr/local/bin/agentmesh-service
# AGENTMESH_HOME and the durable data dir (AGENTMESH_DATA_DIR of the gateway, the
# copywriter, the publisher and the budgeter) belong to the unprivileged `node`
# user (uid 1000) of the base image (an empty Docker volume mounted there takes
# that owner); everything else stays root-owned and read-only to the service.
RUN mkdir -p /var/lib/agentmesh /var/lib/agentmesh-state \
 && chown node:node /var/lib/agentmesh /var/lib/agentmesh-state
USER node
# gateway: gRPC 7070, Connect 7071, artifacts 7072; agents 7080-7091, sagas
# 7092-7093: each service's default ports (gateway/config.ts,
# services/shared/service-config.ts, services/sagas/config.ts).
EXPOSE 7070-7072 7080-7093
ENTRYPOINT ["/usr/local/bin/agentmesh-service"]
CMD ["gateway"]
