// The request path's Redis on a Redis Cluster: the HotRedis interface on ioredis's Cluster client (Bun's client speaks to one node only).
import type { RedisTarget } from '../config'
import { scriptSources } from '../limits/scripts'
import { KeyList, RedisTimeoutError, type HotRedis } from './hot-redis'
import { connectRedis } from './redis'

/** As on one Redis: a command that gets no answer in this long fails. */
const COMMAND_TIMEOUT_MS = 1_000

/**
 * Each command goes to the node that owns its first key's slot (every script's keys share one slot: src/limits/keys.ts).
 * Both lanes go out at once, in the order given, on one connection per node, so a subject's commands reach its node in
 * that order, which is all the 'later' lane promises (batching is not attempted: see connectRedis). Without an offline
 * queue a command while the cluster is unreachable fails at once, as on one Redis; a MOVED after a resharding is followed.
 */
export function createClusterHotRedis(target: Extract<RedisTarget, { kind: 'cluster' }>): HotRedis {
  const client = connectRedis(target, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: COMMAND_TIMEOUT_MS,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  })
  // The first connection's failure is the boot's to report (it waits on `ready`); the client keeps retrying after it.
  client.on('error', () => {})
  const ready = client.connect().then(() => undefined)
  ready.catch(() => {})

  async function send(command: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await client.call(command, ...args.map(String))
    } catch (error) {
      // The same error as the single-node client's, so callers need not know which one they have.
      if (/Command timed out/i.test(String((error as Error).message))) throw new RedisTimeoutError()
      throw error
    }
  }

  const script: HotRedis['script'] = async (name, keys, args) => {
    const source = scriptSources.get(name)!
    const rest = [source.numberOfKeys, ...(keys instanceof KeyList ? keys.keys : keys), ...args]
    try {
      return (await send('EVALSHA', [source.sha, ...rest])) as Awaited<ReturnType<HotRedis['script']>>
    } catch (error) {
      // Each node loads a script the first time it runs there, and forgets it when it restarts.
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error
      return (await send('EVAL', [source.lua, ...rest])) as Awaited<ReturnType<HotRedis['script']>>
    }
  }

  return {
    script,
    // Nothing is gathered here (commands go at once, see above): each item is its own call.
    gathered: (name, keys, head, item) => script(name, keys, [...head, ...item]),
    send: (command, args) => send(command, args),
    ping: () => send('PING', []),
    ready,
    close() {
      client.disconnect()
    },
  }
}
