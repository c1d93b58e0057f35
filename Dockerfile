# syntax=docker/dockerfile:1
# referral-sync service image: `serve` (HTTP: OAuth install, webhooks, admin) or `worker` (sync jobs).
# Built on Node 22 LTS; the code also supports Node >= 20.19 (package.json engines).

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json app.json ./
COPY src ./src
COPY connectors ./connectors
COPY mappings ./mappings
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/package.json /app/app.json ./
# Runtime data files read relative to the compiled code (dist/src/... → dist/mappings, dist/app.json).
COPY --from=build --chown=node:node /app/mappings ./dist/mappings
COPY --from=build --chown=node:node /app/app.json ./dist/app.json
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
