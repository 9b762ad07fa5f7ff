// Counts the tokens of large texts on worker threads (./token-worker.ts), so tokenizing never stalls the event loop.
import { countTextTokens } from './tokenizer'

/**
 * Texts at or above this many UTF-16 code units are counted off the main thread.
 *
 * Measured with `bun bench/tokenizer.ts` on the 2-core bench VM (3 runs, shared and noisy; prose and TypeScript from
 * this repo). Inline, all on the event loop: 0.03 ms at 64 chars, 0.08–0.10 at 256, 0.19–0.22 at 512, 0.30–0.41 at
 * 1,000, 1.1–1.9 at 4,000, 18–23 at 64 K, 0.36 s at 1 M, 2.3–3.2 s at 10 M (~0.3 µs a char). Handed to a pool thread
 * (16 in flight), the main thread pays 0.01–0.03 ms up to 256 chars, 0.04–0.2 at 512–1,000, 0.09–0.41 at 4,000,
 * 2.7–3.7 at 1 M (the string is copied), and the request waits a round trip of 0.14–0.28 ms on top of the count.
 * Below ~1,000 chars an inline count stalls the loop no longer than that round trip and than one request's own relay
 * work (~0.2 ms), and handing it off saves little; from there the saving is at least half and grows with the text,
 * up to a 10 MB prompt: /healthz waited 2.3–3.3 s inline, at most 17–31 ms with the pool (6 runs).
 */
export const OFF_THREAD_MIN_CHARS = 1_024

/**
 * Texts this long (~20 ms or more to count) never go to the first thread when there are two or more: a flood of
 * 10 MB prompts then queues behind itself, while ordinary prompts keep a thread that answers in a millisecond.
 */
const BULK_MIN_CHARS = 65_536

// Each thread holds a JS heap and its own o200k ranks: ~45 MB RSS apiece (40–60 MB measured). Two keep a lane free.
const DEFAULT_THREADS = 2

/** Main thread → worker. */
export interface CountJob {
  id: number
  text: string
}

/** Worker → main thread: the count, or why it failed. */
export type CountReply = { id: number; tokens: number } | { id: number; error: string }

interface Pending {
  resolve(tokens: number): void
  reject(error: Error): void
  chars: number
}

class TokenThread {
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  /** Chars posted and not answered yet: the dispatcher's measure of how long this thread will take. */
  queuedChars = 0
  dead = false

  constructor() {
    this.worker = new Worker(new URL('./token-worker.ts', import.meta.url).href)
    // An idle pool must not keep a finished process alive; a thread with work does (see count()).
    this.worker.unref()
    this.worker.onmessage = (event: MessageEvent<CountReply>) => this.settle(event.data)
    this.worker.onerror = (event: ErrorEvent) => this.fail(new Error(`token worker failed: ${event.message}`))
    this.worker.addEventListener('close', () => this.fail(new Error('token worker exited')))
  }

  count(id: number, text: string): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref()
      this.pending.set(id, { resolve, reject, chars: text.length })
      this.queuedChars += text.length
      this.worker.postMessage({ id, text } satisfies CountJob)
    })
  }

  private settle(reply: CountReply): void {
    const job = this.pending.get(reply.id)
    if (!job) return
    this.pending.delete(reply.id)
    this.queuedChars -= job.chars
    if (this.pending.size === 0) this.worker.unref()
    if ('error' in reply) job.reject(new Error(`token count failed: ${reply.error}`))
    else job.resolve(reply.tokens)
  }

  /** The thread is gone (crashed, exited or stopped): its waiters get the error, and the pool replaces it on next use. */
  fail(error: Error): void {
    if (this.dead) return
    this.dead = true
    for (const job of this.pending.values()) job.reject(error)
    this.pending.clear()
    this.queuedChars = 0
    this.worker.unref()
  }

  async stop(): Promise<void> {
    this.fail(new Error('token pool stopped'))
    this.worker.terminate()
  }
}

let threads: TokenThread[] | null = null
let nextJobId = 1

/** Starts the worker threads (at boot; idempotent). Each builds its encoder as it starts, ~0.1–0.2 s. */
export function startTokenPool(count: number = DEFAULT_THREADS): void {
  if (threads) return
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`token pool needs at least one thread, got ${count}`)
  threads = Array.from({ length: count }, () => new TokenThread())
}

/** Terminates the threads; counts still waiting reject. A later count or start brings the pool back. */
export async function stopTokenPool(): Promise<void> {
  const stopping = threads
  threads = null
  if (stopping) await Promise.all(stopping.map((thread) => thread.stop()))
}

/** The least-loaded thread that may take a text this long; a dead thread is replaced here, on use, never in a loop. */
function pickThread(pool: TokenThread[], chars: number): TokenThread {
  const first = chars >= BULK_MIN_CHARS && pool.length > 1 ? 1 : 0
  let best = -1
  for (let i = first; i < pool.length; i++) {
    if (pool[i]!.dead) pool[i] = new TokenThread()
    if (best < 0 || pool[i]!.queuedChars < pool[best]!.queuedChars) best = i
  }
  return pool[best]!
}

/**
 * Tokens of `text` as countTextTokens (./tokenizer) counts them: o200k_base, encode_ordinary. Short texts are counted
 * inline; from OFF_THREAD_MIN_CHARS on, on a pool thread (started on first use if startTokenPool was not called).
 */
export function countTextTokensOffThread(text: string): Promise<number> {
  if (text.length < OFF_THREAD_MIN_CHARS) {
    try {
      return Promise.resolve(countTextTokens(text))
    } catch (error) {
      return Promise.reject(error)
    }
  }
  if (!threads) startTokenPool()
  return pickThread(threads!, text.length).count(nextJobId++, text)
}
