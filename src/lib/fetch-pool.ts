// Room for UPSTREAM_MAX_CONNECTIONS in this process: Bun's fetch pool (sized only at process start), file descriptors, and Bun's HTTP thread.
import { readdirSync, readFileSync } from 'node:fs'
import type { Config } from '../config'
import type { Logger } from './logger'

/**
 * Bun reads BUN_CONFIG_MAX_HTTP_REQUESTS once, when the VM starts and before any of our code runs (AsyncHTTP.loadEnv
 * in Bun's run command): setting the variable from the program later changes nothing. Checked on Bun 1.4.5 with 1,000 fetches against a
 * server holding each 2 s: 256 open at once by default, also after setting it to 2000
 * at run time; 1,000 when the variable was in the environment at start. It is a u16: 65,535 at most, and 70000 is
 * refused (Bun logs an error and keeps 256). Past the limit Bun queues fetches silently.
 */
export const BUN_FETCH_POOL_MAX = 65_535

/**
 * Slots of Bun's pool kept for the process's other HTTP clients (webhook deliveries: 32 at once; Stripe reporting:
 * up to 64), so upstream requests alone never fill it.
 */
export const FETCH_POOL_RESERVE = 256

/** What Bun's pool must be for `maxConnections` upstream requests to never queue inside Bun. */
export function requiredBunFetchPool(maxConnections: number): number {
  return Math.min(BUN_FETCH_POOL_MAX, maxConnections + FETCH_POOL_RESERVE)
}

/**
 * Our pool's size in this process: the configured one, or less when Bun's pool cannot hold it (the process was started
 * without BUN_CONFIG_MAX_HTTP_REQUESTS, which `bun run start` and the Dockerfile set; the boot warns). Requests then
 * wait in our pool, where we know they were not sent, rather than in Bun's, where we could not tell.
 */
export function upstreamSlots(upstream: Config['upstream']): number {
  if (upstream.bunFetchPool >= requiredBunFetchPool(upstream.maxConnections)) return upstream.maxConnections
  const reserve = Math.min(FETCH_POOL_RESERVE, Math.floor(upstream.bunFetchPool / 2))
  return Math.max(1, Math.min(upstream.maxConnections, upstream.bunFetchPool - reserve))
}

// Descriptors the process opens after the boot-time check (Redis, PostgreSQL, BullMQ, token threads, kept-alive
// sockets): an idle gateway with ROLE=api held 84 in all, 40 beside 9,980 streams (bench:capacity).
const LATER_DESCRIPTORS = 64

export interface FileBudget {
  /** The open-file soft limit (Bun raises it to the hard limit when it starts). */
  limit: number
  inUse: number
  /** Concurrent streams that fit: each holds a client socket and an upstream socket, beside LATER_DESCRIPTORS. */
  streams: number
}

/** Linux: /proc/self/limits and /proc/self/fd; null elsewhere. */
export function fileBudget(): FileBudget | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = line?.split(/\s{2,}/)[1]
    const limit = soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft)
    if (Number.isNaN(limit)) return null
    const inUse = readdirSync('/proc/self/fd').length
    return { limit, inUse, streams: Math.max(0, Math.floor((limit - inUse - LATER_DESCRIPTORS) / 2)) }
  } catch {
    return null
  }
}

/**
 * Warns at boot when the open-file limit cannot hold UPSTREAM_MAX_CONNECTIONS streams (2 descriptors each). Past it,
 * upstream connects fail with EMFILE and become 503 gateway_capacity_exhausted, never a hang or a bill.
 */
export function checkFileBudget(maxConnections: number, logger: Logger): void {
  const budget = fileBudget()
  if (!budget || budget.streams >= maxConnections) return
  logger.warn('open-file limit too low for UPSTREAM_MAX_CONNECTIONS', {
    openFileLimit: budget.limit,
    inUse: budget.inUse,
    streamsThatFit: budget.streams,
    maxConnections,
    fix: `raise the hard limit to at least ${2 * maxConnections + budget.inUse + LATER_DESCRIPTORS} (ulimit -Hn, systemd LimitNOFILE, docker --ulimit nofile)`,
  })
}

/**
 * Starts Bun's HTTP client thread now and waits until it answered. The thread needs an epoll and an eventfd when it
 * first starts; if that first start happens in a process already out of descriptors, Bun exits ("bun ran out of file
 * descriptors", seen on 1.4.5 under `ulimit -n 64`, also when exhaustion follows a bare fetch.preconnect by
 * microseconds). Started at boot, later fetches fail with EMFILE instead, which we answer. `url` should be one of our
 * own (the gateway passes its /healthz), so nothing outside the process is touched.
 */
export async function startFetchThread(url: string): Promise<void> {
  try {
    await (await fetch(url)).arrayBuffer()
  } catch {
    // Any answer, even a refusal, means the thread is running.
  }
}
