// Every ioredis connection is made here: one Redis or a Redis Cluster (config.redis), with the options each use needs.
import Redis, { Cluster, type RedisOptions } from 'ioredis'
import type { RedisTarget } from '../config'

export type { RedisTarget }

/** A connection to one Redis or to a cluster; both speak the commands, scripts, pub/sub and BullMQ we use. */
export type RedisConnection = Redis | Cluster

/** What a connection is for decides its options; the same names apply to one Redis and to a cluster. */
export interface ConnectionOptions {
  lazyConnect?: boolean
  /** false: a command while disconnected fails at once instead of waiting (fail fast on the request path). */
  enableOfflineQueue?: boolean
  /** null: a command waits out any disconnect (BullMQ workers and subscribers need it). */
  maxRetriesPerRequest?: number | null
  connectTimeout?: number
  commandTimeout?: number
  /** Commands given in one tick share a write (per node on a cluster). */
  enableAutoPipelining?: boolean
  /** Delay before reconnecting (for a cluster: before reconnecting to the cluster as a whole). */
  retryStrategy?: (attempt: number) => number | null
}

/** A plain string is one Redis's URL (tests and benches pass those). */
const targetOf = (target: RedisTarget | string): RedisTarget => (typeof target === 'string' ? { kind: 'single', url: target } : target)

/** Opens a connection to one Redis or to a cluster, as REDIS_URL / REDIS_CLUSTER_NODES say. */
export function connectRedis(target: RedisTarget | string, options: ConnectionOptions): RedisConnection {
  const where = targetOf(target)
  if (where.kind === 'single') return new Redis(where.url, options as RedisOptions)
  // Auto-pipelining is left off on a cluster: ioredis then routes by its slot map without a fallback, and a map read
  // while the cluster was still being formed (some slots unassigned) fails those slots' commands until the next MOVED,
  // which never comes (seen: a gateway started before its cluster refused every admission). Without it a command for
  // an unknown slot goes to any node and follows the MOVED, which also refreshes the map.
  const { lazyConnect, enableOfflineQueue, retryStrategy, enableAutoPipelining: _notOnACluster, ...perNode } = options
  return new Cluster(
    where.nodes.map((node) => ({ host: node.host, port: node.port })),
    {
      ...(lazyConnect !== undefined ? { lazyConnect } : {}),
      ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
      ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
      // 'ready' only once CLUSTER INFO says the cluster serves every slot.
      enableReadyCheck: true,
      // A node that restarts is connected to again; without this the client waits for a MOVED to notice it.
      clusterNodeRetryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
      redisOptions: {
        ...perNode,
        ...(where.username ? { username: where.username } : {}),
        ...(where.password ? { password: where.password } : {}),
      },
    },
  )
}

/** The general client (readiness, publishing, gauges, tests): short timeouts and no offline queue, so an outage fails fast. */
export function createRedis(url: string): Redis
export function createRedis(target: RedisTarget | string): RedisConnection
export function createRedis(target: RedisTarget | string): RedisConnection {
  return connectRedis(target, {
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

/** Pub/sub needs a connection of its own; ioredis subscribes again after a reconnect (on a cluster, to another node if need be). */
export function createSubscriber(target: RedisTarget | string): RedisConnection {
  return connectRedis(target, { lazyConnect: true, maxRetriesPerRequest: null })
}
