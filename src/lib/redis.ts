// The Redis client (ioredis) for the hot path: short timeouts and no offline queue, so a Redis outage fails fast.
import Redis from 'ioredis'

export function createRedis(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    // Commands issued in the same tick (admissions and settlements of concurrent requests) share one write and one read.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  })
}
