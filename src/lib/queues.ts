// BullMQ queue names, the key prefix, and the two kinds of Redis connection: fail-fast for producers, patient for workers.
import { connectRedis, type RedisConnection, type RedisTarget } from './redis'

export const USAGE_QUEUE = 'usage'
/** x402 payment records (src/x402/payment-queue.ts → workers/x402-payments). */
export const X402_PAYMENTS_QUEUE = 'x402-payments'

/**
 * Every BullMQ key starts with this prefix. The braces are a Redis Cluster hash tag: all keys of a queue must live in
 * one slot because BullMQ's Lua scripts touch several of them at once (QUEUE_PREFIX must be one too: src/config.ts).
 */
export const QUEUE_PREFIX = '{mw}'

/** Reconnect quickly at first, then every few seconds; never give up (a producer outlives any Redis outage). */
const reconnectDelay = (attempt: number) => Math.min(attempt * 200, 5_000)

/**
 * A connection for code on the request path that adds jobs. Without an offline queue a command fails at once while
 * Redis is down, and the timeouts bound a command to a hung server, so a producer never waits on Redis: it keeps what
 * it could not send and retries later. The caller owns (and closes) it; BullMQ leaves caller-owned clients open.
 */
export function createProducerConnection(redis: RedisTarget | string): RedisConnection {
  return connectRedis(redis, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    retryStrategy: reconnectDelay,
  })
}

/**
 * The connection of a BullMQ Worker. Workers block on Redis and must ride out disconnects, so BullMQ requires
 * `maxRetriesPerRequest: null`. BullMQ duplicates it for its blocking connection and closes that one itself; this one
 * is the caller's to close after the worker (BullMQ leaves caller-owned clients open).
 */
export function createWorkerConnection(redis: RedisTarget | string): RedisConnection {
  return connectRedis(redis, {
    maxRetriesPerRequest: null,
    connectTimeout: 5_000,
    retryStrategy: reconnectDelay,
  })
}

/** A BullMQ jobId must not be an integer nor contain ':'; one bad id would make a whole addBulk fail forever. */
export function isValidJobId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && !id.includes(':') && !/^\d+$/.test(id)
}
