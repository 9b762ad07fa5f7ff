// The Bun settings a gateway process starts with (read by Bun only at start): `bun run start` and the Dockerfile set them, tests and benches start processes with them.
import { ALLOCATOR_ENV } from './allocator'
import { BUN_FETCH_POOL_MAX } from './fetch-pool'

export const START_ENV: Readonly<Record<string, string>> = Object.freeze({
  // Bun's fetch pool at its maximum: UPSTREAM_MAX_CONNECTIONS (our own pool) is then the limit (src/lib/fetch-pool.ts).
  BUN_CONFIG_MAX_HTTP_REQUESTS: String(BUN_FETCH_POOL_MAX),
  ...ALLOCATOR_ENV,
})
