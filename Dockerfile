# One multi-stage Dockerfile, two targets: validate and transform (the seed's two containers).
# Build: TypeScript and the WebAssembly kernel. Runtime: Node LTS slim, production deps only, non-root.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.runtime.json ./
COPY scripts scripts
COPY asconfig.json ./
COPY assembly assembly
COPY runtime runtime
RUN npm run -s build:wasm && npx tsc -p tsconfig.runtime.json

FROM node:24-bookworm-slim AS base
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin bin
COPY --from=build /app/dist/runtime dist/runtime
COPY --from=build /app/dist/assembly dist/assembly
# The task's root filesystem is read-only; its one writable path is a bind mount at /scratch
# (infra/compute.ts, TMPDIR). Declared here, owned by node, so ECS gives the mount this owner.
RUN mkdir -p /scratch && chown node:node /scratch && chmod 700 /scratch
VOLUME ["/scratch"]
USER node
ENTRYPOINT ["node", "bin/kpi.js"]
CMD ["run"]

FROM base AS validate
ENV KPI_STAGE=validate

FROM base AS transform
ENV KPI_STAGE=transform
