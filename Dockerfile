# The informer CLI in a container, for `informer serve` and pipeline steps.
#   docker build -t informer-node .
#   docker run -p 8080:8080 -v $PWD/model:/models/model:ro informer-node                      # serve /models/model
#   docker run -v $PWD/mlruns:/work/mlruns informer-node train --mlruns /work/mlruns          # any other command
# Stage 1 builds the addon (CPU backend) and the TypeScript from this checkout; stage 2 is the slim
# runtime: Node, the production dependencies, dist/ and the addon, run as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make cmake python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json .npmrc tsconfig.json CMakeLists.txt binding.gyp ./
COPY lib lib
COPY native native
COPY scripts scripts
COPY data data
COPY schemas schemas
# npm ci runs the install script: the TypeScript, then the addon from source (no GPU here: CPU-only).
# @kubernetes/client-node (an optional peer dependency) is kept for pipeline steps that deploy to KServe.
RUN INFORMER_CUDA=OFF npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm install --no-save --omit=dev --no-audit --no-fund --ignore-scripts @kubernetes/client-node@^1.3.0

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/build/Release/informer.node build/Release/informer.node
COPY --from=build /src/data/alibaba_pod.csv data/alibaba_pod.csv
COPY --from=build /src/schemas schemas
RUN ln -s /app/dist/cli/index.js /usr/local/bin/informer && mkdir -p /work && chown node:node /work
USER node
WORKDIR /work
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:8080/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["informer"]
CMD ["serve", "/models/model", "--host", "0.0.0.0", "--port", "8080"]
