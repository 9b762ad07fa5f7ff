// The request path's Redis: one pipelined connection, commands gathered into one write per batch, failing fast while Redis is away, scripts by SHA.
import { scriptSources, type ScriptName, type ScriptReply } from '../limits/scripts'
import { openRespConnection, type ReplyTarget } from './resp-connection'
import { encodeCommandHead, type OutgoingCommand } from './resp-encode'

/**
 * Keys a script is run with again and again (an account's: every admission and settlement names the same eight):
 * their encoding is made once and kept here, with the script it was made for. Encoding them on every call cost
 * about a tenth of a wallet request's CPU (bun --cpu-prof-md, bench/run.ts).
 */
export class KeyList {
  head: { sha: string; total: number; text: string } | null = null
  constructor(readonly keys: readonly string[]) {}
}

/** A command fails when Redis has answered nothing for this long since it was given (a Redis that hangs must not hang requests). */
const COMMAND_TIMEOUT_MS = 1_000
/** While Redis keeps answering, a command waits its turn behind a long queue, but never longer than this. */
const MAX_WAIT_MS = 5_000
/** How often a batch in flight is checked against that timeout: one timer for every command, not one each. */
const WATCH_EVERY_MS = 100
/** How long commands nobody waits on (checkpoints) may gather before they go. */
const LATER_MS = 2
/** Batches written and not yet answered. */
const MAX_BATCHES_IN_FLIGHT = 1

/**
 * When a command goes. `now`: at once if no batch is out, else with the next batch (a request waits for these:
 * admission; and settlements, see Admission.settle). `later`: within LATER_MS, or sooner with the next batch
 * (checkpoints, the open-request index: nothing waits for them but the money's exactness, which their order keeps).
 */
export type Lane = 'now' | 'later'

export interface HotRedis {
  /** Runs one of the admission scripts (src/limits/scripts): keys first, then arguments. */
  script(name: ScriptName, keys: readonly string[] | KeyList, args: (string | number)[], lane?: Lane): Promise<ScriptReply>
  /**
   * Runs a script that takes items (settle-floats-6): an item given while a call of it with the same key list is still
   * queued, with fewer than `maxItems`, joins that call (so it goes no later than alone); else it starts one, in the
   * 'later' lane with `head` before its item. Every item of a call gets the call's one reply.
   */
  gathered(name: ScriptName, keys: KeyList, head: readonly (string | number)[], item: readonly (string | number)[], maxItems: number): Promise<ScriptReply>
  /** Any other command, as Redis names it. */
  send(command: string, args: (string | number)[], lane?: Lane): Promise<unknown>
  ping(): Promise<unknown>
  /** Resolves once connected (the boot waits for it, so the first requests do not fail), or rejects when Redis is away. */
  ready: Promise<void>
  close(): void
}

export class RedisTimeoutError extends Error {
  constructor() {
    super(`Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`)
  }
}

interface Queued extends ReplyTarget, OutgoingCommand {
  /** Encoded when its batch is written if it gathers items (its argument count is known then). */
  head: string
  /** A call still taking items (see HotRedis.gathered), until its batch is written. */
  gathering: Gathering | null
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  queuedAt: number
  done: boolean
  /** The batch it went out in, once written. */
  batch: Batch | null
}

interface Gathering {
  source: { sha: string; numberOfKeys: number; lua: string }
  keys: KeyList
  args: (string | number)[]
  items: number
  maxItems: number
  /** The call's reply, which every item gets. */
  answer: Promise<ScriptReply>
}

interface Batch {
  commands: Queued[]
  unanswered: number
  sentAt: number
}

/**
 * On this 2-core VM one command written on its own costs ~54 µs of client CPU (a write, a wakeup, a read), ~12 µs
 * when fifty go in one write. So commands go out in batches, one batch in flight: a command given while a batch is
 * out waits for its answers and goes with everything else given meanwhile. Alone (concurrency 1) a command goes at
 * once, so nothing waits that need not; under load the batches grow by themselves. (Holding every command to the end
 * of the event-loop turn instead cost 70 µs at p50 and 2 ms at p99 of latency at concurrency 1.) One client, one
 * queue: Redis sees commands in the order they were given. No offline queue: a command while disconnected rejects at
 * once, and the client reconnects on its own.
 */
export function createHotRedis(url: string): HotRedis {
  // Connects at once; requests fail fast until it answers (the connection keeps trying in the background).
  const connection = openRespConnection(url, { connectTimeoutMs: 2_000 })

  let queue: Queued[] = []
  /** Calls still taking items, by their key list (one per subject and script). */
  const gathering = new Map<KeyList, Queued>()
  let inFlight: Batch[] = []
  let laterTimer: ReturnType<typeof setTimeout> | null = null
  let watchTimer: ReturnType<typeof setInterval> | null = null
  /** When the last answer (or error) of any command was read: Redis is judged by its answers, not by our queue. */
  let lastReplyAt = 0
  /** When the watchdog last ran: a late run means our own event loop was busy, not Redis. */
  let lastWatchAt = 0

  function settle(q: Queued, value: unknown, error: unknown, failed: boolean): void {
    if (q.done) return
    q.done = true
    if (failed) q.reject(error)
    else q.resolve(value)
  }

  function answered(batch: Batch): void {
    lastReplyAt = performance.now()
    if (--batch.unanswered > 0) return
    const at = inFlight.indexOf(batch)
    // -1: the watchdog gave up on it already and sent what came after.
    if (at >= 0) {
      inFlight.splice(at, 1)
      pump()
    }
  }

  /** Writes everything queued as one batch, if no more than the allowed batches are out. */
  function pump(): void {
    if (queue.length === 0 || inFlight.length >= MAX_BATCHES_IN_FLIGHT) return
    if (laterTimer) clearTimeout(laterTimer)
    laterTimer = null
    const batch: Batch = { commands: queue, unanswered: queue.length, sentAt: performance.now() }
    queue = []
    inFlight.push(batch)
    startWatching()
    for (const q of batch.commands) {
      q.batch = batch
      if (q.gathering) closeGathering(q)
    }
    connection.write(batch.commands)
  }

  /** A command's reply (or its error) as the connection reads it: settles its caller, and counts down its batch. */
  function reply(this: Queued, value: unknown, error: Error | null): void {
    if (error) settle(this, undefined, error, true)
    else settle(this, value, null, false)
    answered(this.batch!)
  }

  function startWatching(): void {
    if (watchTimer) return
    lastWatchAt = performance.now()
    watchTimer = setInterval(watch, WATCH_EVERY_MS)
  }

  /**
   * Fails what has waited past the timeout, queued or written, and lets the queue move past a batch that hangs. A
   * command has waited too long when Redis has answered nothing since COMMAND_TIMEOUT_MS after it was given (or it is
   * older than MAX_WAIT_MS): during a burst (10,000 streams opening at once) our own loop can take longer than that to
   * read answers that did arrive, and a Redis that is answering is not a Redis that hangs. A watchdog that runs late
   * is the sign of such a loop: it judges nothing on that run, so the answers waiting to be read are read first.
   */
  function watch(): void {
    const now = performance.now()
    const loopWasBusy = now - lastWatchAt > WATCH_EVERY_MS * 3
    lastWatchAt = now
    if (!loopWasBusy) {
      const silentSince = now - COMMAND_TIMEOUT_MS
      const expired = lastReplyAt <= silentSince ? silentSince : now - MAX_WAIT_MS
      const hung = inFlight.filter((b) => b.sentAt <= expired)
      if (hung.length > 0) {
        inFlight = inFlight.filter((b) => b.sentAt > expired)
        for (const batch of hung) for (const q of batch.commands) settle(q, undefined, new RedisTimeoutError(), true)
      }
      // A queued command is never sent after its caller was told it failed: a late admission would hold for nobody.
      if (queue.length > 0 && queue[0]!.queuedAt <= expired) {
        const late = queue.filter((q) => q.queuedAt <= expired)
        queue = queue.filter((q) => q.queuedAt > expired)
        for (const q of late) if (q.gathering) closeGathering(q)
        for (const q of late) settle(q, undefined, new RedisTimeoutError(), true)
      }
    }
    if (inFlight.length === 0 && queue.length === 0 && watchTimer) {
      clearInterval(watchTimer)
      watchTimer = null
    }
    pump()
  }

  function send(name: string, args: (string | number)[], lane: Lane = 'now'): Promise<unknown> {
    return sendCommand(encodeCommandHead(name, [], args.length), args, lane)
  }

  /** Queues a command; its arguments are encoded only when its batch is written. */
  function sendCommand(head: string, args: readonly (string | number)[], lane: Lane): Promise<unknown> {
    return new Promise((resolve, reject) => {
      queue.push({ head, args, gathering: null, resolve, reject, queuedAt: performance.now(), done: false, batch: null, reply })
      if (lane === 'now') pump()
      else laterTimer ??= setTimeout(pump, LATER_MS)
      startWatching()
    })
  }

  /** EVALSHA of a script, its keys' encoding made once when they come as a KeyList. */
  function evalSha(source: { sha: string; numberOfKeys: number }, keys: readonly string[] | KeyList, args: (string | number)[], lane: Lane): Promise<unknown> {
    if (!(keys instanceof KeyList)) return send('EVALSHA', [source.sha, source.numberOfKeys, ...keys, ...args], lane)
    const total = 2 + keys.keys.length + args.length
    let head = keys.head
    if (!head || head.sha !== source.sha || head.total !== total) {
      head = keys.head = { sha: source.sha, total, text: encodeCommandHead('EVALSHA', [source.sha, source.numberOfKeys, ...keys.keys], total) }
    }
    return sendCommand(head.text, args, lane)
  }

  /** A gathering call takes no more items: its head is encoded for the arguments it has. */
  function closeGathering(q: Queued): void {
    const { source, keys, args } = q.gathering!
    q.head = encodeCommandHead('EVALSHA', [source.sha, source.numberOfKeys, ...keys.keys], 2 + keys.keys.length + args.length)
    if (gathering.get(keys) === q) gathering.delete(keys)
    q.gathering = null
  }

  function gathered(name: ScriptName, keys: KeyList, head: readonly (string | number)[], item: readonly (string | number)[], maxItems: number): Promise<ScriptReply> {
    const source = scriptSources.get(name)!
    const open = gathering.get(keys)?.gathering
    if (open && open.source === source && open.items < maxItems) {
      open.args.push(...item)
      open.items++
      return open.answer
    }
    const args = [...head, ...item]
    const call: Gathering = { source, keys, args, items: 1, maxItems, answer: null as never }
    const written = new Promise<unknown>((resolve, reject) => {
      const queued: Queued = { head: '', args, gathering: call, resolve, reject, queuedAt: performance.now(), done: false, batch: null, reply }
      queue.push(queued)
      gathering.set(keys, queued)
      laterTimer ??= setTimeout(pump, LATER_MS)
      startWatching()
    })
    call.answer = written.catch((error: Error) => {
      // A Redis that restarted (or was flushed) has forgotten the script: EVAL sends it and loads it again.
      if (!String(error.message).startsWith('NOSCRIPT')) throw error
      return send('EVAL', [source.lua, source.numberOfKeys, ...keys.keys, ...args])
    }) as Promise<ScriptReply>
    return call.answer
  }

  return {
    gathered,
    async script(name, keys, args, lane = 'now') {
      const source = scriptSources.get(name)!
      try {
        return (await evalSha(source, keys, args, lane)) as ScriptReply
      } catch (error) {
        // A Redis that restarted (or was flushed) has forgotten the script: EVAL sends it and loads it again.
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error
        const list = keys instanceof KeyList ? keys.keys : keys
        return (await send('EVAL', [source.lua, source.numberOfKeys, ...list, ...args], lane)) as ScriptReply
      }
    },
    send,
    ping: () => send('PING', []),
    ready: connection.ready,
    close() {
      inFlight = []
      pump()
      if (watchTimer) clearInterval(watchTimer)
      watchTimer = null
      connection.close()
    },
  }
}
