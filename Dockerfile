# Meterway gateway image on the official Bun image: locked production dependencies, runs as the unprivileged bun user.
FROM oven/bun:1.4-slim
WORKDIR /app
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
# Bun sizes its fetch pool from this only when the process starts; at its maximum, UPSTREAM_MAX_CONNECTIONS (our own
# pool) is the limit and the gateway never restarts itself to resize Bun's. 10,000 streams also need about 20,100 open
# files: run with e.g. `--ulimit nofile=65536:65536`.
ENV BUN_CONFIG_MAX_HTTP_REQUESTS=65535
# Bun's allocator keeps freed memory for reuse (free blocks of pages in use; whole free pages for 10 s) instead of
# returning it at every idle, which requests then fault back in (src/lib/allocator.ts).
ENV MIMALLOC_PURGE_HOLES=0
ENV MIMALLOC_PURGE_DELAY=60000

COPY package.json bun.lock ./
# The workspace packages (packages/*: the SDKs; examples/*: their example's manifest) must be on disk for a frozen
# install of the workspace's lockfile.
COPY packages ./packages
COPY examples/platform/package.json ./examples/platform/package.json
RUN bun install --frozen-lockfile --production

COPY src ./src
COPY workers ./workers

USER bun
EXPOSE 8080
# The gateway drains in-flight streams on SIGTERM; give it the same grace as SHUTDOWN_GRACE_MS.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s CMD bun -e "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["bun", "src/index.ts"]
