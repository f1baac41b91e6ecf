# The Tokios gateway alone (no desktop app), built from this repository, for
# deploy/docker-compose.yml: `docker compose -f deploy/docker-compose.yml up --build`.
FROM node:20-bookworm-slim AS build
WORKDIR /src
# The desktop app's Electron binary is not needed to build or run the gateway.
ENV ELECTRON_SKIP_BINARY_DOWNLOAD=1
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Where usage a stopping replica could not write waits for its next start.
RUN mkdir -p /var/lib/tokios && chown node:node /var/lib/tokios
USER node
ENTRYPOINT ["node", "/app/dist/main/cli/tokios.js"]
CMD ["gateway", "--help"]
