// The request path's Redis: Bun's native client (about a third of ioredis's CPU per command), failing fast while Redis is away, scripts by SHA.
import { RedisClient } from 'bun'
import { scriptSources, type ScriptName, type ScriptReply } from '../limits/scripts'

/** A command that gets no answer in this long fails (a Redis that hangs must not hang requests). */
const COMMAND_TIMEOUT_MS = 1_000
/** Commands started within one such window share one timer. */
const TIMEOUT_WINDOW_MS = 100

export interface HotRedis {
  /** Runs one of the admission scripts (src/limits/scripts): keys first, then arguments. */
  script(name: ScriptName, keys: string[], args: (string | number)[]): Promise<ScriptReply>
  /** Any other command, as Redis names it. */
  send(command: string, args: (string | number)[]): Promise<unknown>
  ping(): Promise<unknown>
  close(): void
}

export class RedisTimeoutError extends Error {
  constructor() {
    super(`Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`)
  }
}

/**
 * Fails fast rather than waiting: no offline queue (a command while disconnected rejects at once, and the client
 * reconnects on its own), and a command with no answer after COMMAND_TIMEOUT_MS rejects. The timeout is one timer per
 * 100 ms window, shared by every command started in it, rather than one per command.
 */
export function createHotRedis(url: string): HotRedis {
  const client = new RedisClient(url, { enableOfflineQueue: false, autoReconnect: true, connectionTimeout: 2_000, enableAutoPipelining: true })
  // Connects in the background: the boot does not wait for Redis, and requests fail fast until it answers.
  client.connect().catch(() => {})

  let windowEnds = 0
  let windowTimeout: Promise<never> | null = null
  function timeout(): Promise<never> {
    const now = performance.now()
    if (!windowTimeout || now >= windowEnds) {
      windowEnds = now + TIMEOUT_WINDOW_MS
      const fired = new Promise<never>((_, reject) => setTimeout(() => reject(new RedisTimeoutError()), COMMAND_TIMEOUT_MS + TIMEOUT_WINDOW_MS).unref?.())
      // Rejections nobody raced against are expected (most windows see every command answered).
      fired.catch(() => {})
      windowTimeout = fired
    }
    return windowTimeout
  }

  const send = (command: string, args: (string | number)[]): Promise<unknown> =>
    Promise.race([client.send(command, args.map(String)), timeout()])

  return {
    async script(name, keys, args) {
      const source = scriptSources.get(name)!
      const rest = [String(source.numberOfKeys), ...keys, ...args.map(String)]
      try {
        return (await send('EVALSHA', [source.sha, ...rest])) as ScriptReply
      } catch (error) {
        // A Redis that restarted (or was flushed) has forgotten the script: EVAL sends it and loads it again.
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error
        return (await send('EVAL', [source.lua, ...rest])) as ScriptReply
      }
    },
    send,
    ping: () => send('PING', []),
    close: () => client.close(),
  }
}
