// The streaming relay, transport only: upstream bytes → SSE parser → event handler (the provider's translator) → client chunks.
import { GatewayError, UpstreamError } from '../errors'
import { SseParser } from '../lib/sse'
import type { UpstreamDeadline } from './deadline'
import { answered, clientGone, cut, failed, type Outcome } from './outcome'
import {
  DONE_EVENT,
  openAiErrorEvent,
  quietGateway,
  SSE_HEADERS,
  timeoutError,
  type ByteReader,
  type EventHandler,
  type ReadResult,
  type RelayClient,
  type RelaySink,
  type StreamOwner,
} from './relay-contract'

/** What the held events wait for: nothing but their turn. */
const HANDED_OVER: Promise<void> = Promise.resolve()
const STREAM = { stream: true } as const

/** Where reading stopped: output to send (or a failure, or the gateway's own end), the body's end, the client gone. */
type FillState = 'data' | 'ended' | 'client_gone'

/** How an answer that is over goes out: its last text, its outcome, whether its upstream is let go. */
interface Ending {
  text: string
  outcome: Outcome
  releaseUpstream: boolean
}

/**
 * One streamed answer. prime() reads until the first client-visible chunk, so an upstream that fails, stalls or sends
 * garbage before saying anything still gets a proper HTTP status (502/504): it throws, and the caller finishes the
 * request. After toResponse() the relay owns the end: its owner's finish runs exactly once, when the stream closes or is cancelled.
 */
export class StreamRelay implements RelaySink {
  private readonly reader: ByteReader
  private readonly decoder = new TextDecoder()
  private readonly parser: SseParser
  private readonly handler: EventHandler
  /** The handler is not done with an event (a hold growing): what it waits for, and the events parsed meanwhile. */
  private waiting: Promise<void> | null = null
  private queued: [string, string][] = []
  /** prime() is reading on a quiet gateway: the events after its first output wait (held, in `queued`) until it has gone out. */
  private priming = false
  private holding = false
  /** SSE text produced since the last hand-off to the client. */
  protected out = ''
  protected failure: GatewayError | null = null
  /** The provider marked a proper end of its answer. */
  private completed = false
  protected truncated = false
  private closed = false
  private handlerEnded = false
  /** The upstream sent at least one SSE event. */
  private sawEvents = false
  /** prime() already reached the end of the upstream body. */
  private primedEnded = false
  /** Who the stream's end is told to, once (the exchange); set by toResponse. */
  private owner: StreamOwner | null = null
  /** A read prime() started and found still waiting: the relay's next read is this one. */
  private pendingRead: Promise<ReadResult> | null = null

  constructor(
    upstream: Response,
    handlerFor: (sink: RelaySink) => EventHandler,
    private readonly deadline: UpstreamDeadline,
    private readonly includeUsage: boolean,
    /** Told each time bytes go to the client (the exchange: an object, not a closure kept a stream). */
    private readonly client: RelayClient,
    /** prime() sends the first output ahead of the rest of its piece (see onEvent); decided when the stream opens. */
    private readonly firstOutputAhead: boolean = quietGateway(),
  ) {
    if (!upstream.body) throw new UpstreamError('The upstream answered a stream request with no body.', 'upstream_bad_response')
    this.reader = upstream.body.getReader()
    this.handler = handlerFor(this)
    this.parser = new SseParser((event, data) => this.onEvent(event, data))
  }

  // RelaySink: what the translator chain emits.
  chunk(json: string): void {
    if (!this.failure && !this.truncated) this.out += `data: ${json}\n\n`
  }
  output(): void {
    // Counting is the meter's, above this sink.
  }
  outputLater(): void {}
  usage(_usage: unknown, usageChunkJson: string): void {
    if (!this.failure && this.includeUsage && usageChunkJson) this.out += `data: ${usageChunkJson}\n\n`
  }
  fail(error: GatewayError): void {
    if (!this.failure) this.failure = error
  }
  complete(): void {
    this.completed = true
  }
  truncate(): void {
    this.truncated = true
  }

  /** What ends a stream after its last chunk (OpenAI's [DONE]); a relay for another wire format says its own. */
  protected endEvent(): string {
    return DONE_EVENT
  }

  /** How a failure after the first byte reaches the client, in the stream's own format. */
  protected errorEvent(error: GatewayError): string {
    return openAiErrorEvent(error)
  }

  /** Reads until there is something to send. Throws the failure if the stream failed before any output; false if the client left. */
  async prime(): Promise<boolean> {
    this.priming = this.firstOutputAhead
    let state: FillState
    try {
      state = await this.fill()
    } finally {
      this.priming = false
    }
    if (state === 'data' && !this.firstOutputAhead && !this.failure && !this.truncated) state = await this.readArrived()
    if (state === 'client_gone') {
      this.endHandler()
      return false
    }
    if (this.failure && this.out === '') {
      this.endHandler()
      // The body is let go at once: its upstream connection (and pool slot) is not held until the deadline.
      this.reader.cancel().catch(() => {})
      throw this.failure
    }
    this.primedEnded = state === 'ended'
    return true
  }

  /** Hands the stream to the client; from here the relay calls owner.finish once, however the stream ends. */
  toResponse(headers: Record<string, string>, owner: StreamOwner): Response {
    this.owner = owner
    // The client leaving now cancels the stream (clientGone), which aborts the deadline: its signal need not be kept.
    this.deadline.unwatchClient()
    if (this.truncated || this.failure || this.primedEnded) return this.wholeResponse(headers)
    // A direct stream: one loop writes each piece as it is ready, rather than one pull (and its promises) per chunk.
    const source: Bun.DirectUnderlyingSource<Uint8Array> = {
      type: 'direct',
      pull: (controller) => this.relay(controller),
      cancel: () => this.clientGone(),
    }
    const body = new ReadableStream(source)
    return new Response(body, { status: 200, headers: { ...headers, ...SSE_HEADERS } })
  }

  /**
   * The client's stream: one loop, and one await per upstream piece (its read), unless the handler or the client makes
   * it wait; each piece's events are handled as they are parsed. What a piece leaves waiting for the next one lives
   * about a second on a slow stream, long enough to outlive a young-generation collection and stay until a full one:
   * with an async call per step (read, hand over, send) the heap grew ~1.1 KB a stream each second 4,000 streams of
   * bench/slow-upstream.ts stayed open, ~0.87 KB with this loop (BUN_JSC_logGC=1).
   */
  private async relay(controller: ReadableStreamDirectController): Promise<void> {
    let ended = this.primedEnded
    for (;;) {
      if (this.closed) return
      if (this.out === '' && !ended && !this.failure && !this.truncated) {
        let state: FillState | null | Promise<FillState | null>
        if (this.holding) {
          // What prime() held back, now that the first output is out.
          this.releaseHeld()
          state = this.handleWaiting().then(() => this.produced())
        } else {
          let result: ReadResult | null = null
          let readError: unknown = null
          try {
            result = await this.read()
          } catch (error) {
            readError = error
          }
          state = this.handleRead(result, readError)
        }
        if (state instanceof Promise) state = await state
        if (state === 'client_gone') return this.clientGone()
        if (state === null) continue
        ended = state === 'ended'
      }
      if (this.closed) return
      if (this.truncated || this.failure || ended) return this.finishWith(controller, this.ending())
      // Written and flushed, so each piece reaches the client as it is ready (strings are encoded natively); awaited
      // only when the client is slow to read (backpressure).
      const text = this.out
      this.out = ''
      if (text === '') continue
      const written = controller.write(text)
      this.client.sent()
      if (written instanceof Promise) await written
      const flushed = controller.flush()
      if (flushed instanceof Promise) await flushed
    }
  }

  /**
   * The answer is already whole (ended, failed or cut) before its first byte went out: it goes as one body, what the
   * stream would have sent, without a stream to pull it (its loop, its writes, its chunked end). The owner finishes now,
   * as the JSON path does once its answer is handed over.
   */
  private wholeResponse(headers: Record<string, string>): Response {
    this.closed = true
    const { text, outcome, releaseUpstream } = this.ending()
    this.client.sentWhole()
    if (releaseUpstream) this.reader.cancel().catch(() => {})
    this.end(outcome)
    return new Response(text, { status: 200, headers: { ...headers, ...SSE_HEADERS } })
  }

  /** An answer that is over (cut, failed or ended): what `out` holds and its end; a cut or failed upstream may still be sending. */
  private ending(): Ending {
    const pending = this.out
    this.out = ''
    if (this.truncated) return { text: pending + this.endEvent(), outcome: cut(), releaseUpstream: true }
    if (this.failure) return { text: pending + this.errorEvent(this.failure), outcome: failed(this.failure, this.deadline, 200), releaseUpstream: true }
    return { text: pending + this.endEvent(), outcome: answered(), releaseUpstream: false }
  }

  /**
   * Reads on while the upstream's next piece has already arrived, so that an answer the upstream finished before our
   * first byte goes out whole (wholeResponse). A read of what Bun already holds settles within one microtask (the body's
   * end too); one still waiting after it is left for the relay's loop, which takes it as its next read.
   */
  private async readArrived(): Promise<FillState> {
    for (;;) {
      const next = this.reader.read()
      await null
      if (Bun.peek.status(next) === 'pending') {
        // Marked handled: it may fail before the relay's loop awaits it (which still sees the failure).
        next.catch(() => {})
        this.pendingRead = next
        return 'data'
      }
      const state = await this.handleReadOf(next)
      if (state === 'ended' || state === 'client_gone' || this.failure || this.truncated) return state ?? 'data'
    }
  }

  /** The next read of the upstream body: the one prime() left waiting, else a new one. */
  private read(): Promise<ReadResult> {
    const pending = this.pendingRead
    if (!pending) return this.reader.read()
    this.pendingRead = null
    return pending
  }

  /** Reads upstream pieces until the handler produced output or the stream failed or was cut ('data'), or the body ended. */
  private async fill(): Promise<FillState> {
    for (;;) {
      const state = await this.handleReadOf(this.read())
      if (state !== null) return state
    }
  }

  /** A read awaited and handled (prime's reads; the relay's loop does the same inline, one await a piece). */
  private async handleReadOf(read: Promise<ReadResult>): Promise<FillState | null> {
    let result: ReadResult | null = null
    let readError: unknown = null
    try {
      result = await read
    } catch (error) {
      readError = error
    }
    return this.handleRead(result, readError)
  }

  /**
   * One read's outcome: its events handed to the handler as they are parsed (a promise only when the handler waits).
   * Null: nothing to send yet, read on.
   */
  private handleRead(result: ReadResult | null, readError: unknown): FillState | null | Promise<FillState | null> {
    if (!result) {
      if (this.deadline.reason === 'client_gone') return 'client_gone'
      this.failure = this.deadline.timedOut
        ? timeoutError(this.deadline)
        : new UpstreamError(`The upstream connection broke mid-stream: ${(readError as Error).message}`, 'upstream_disconnected')
      return 'data'
    }
    if (this.deadline.reason === 'client_gone') return 'client_gone'
    if (result.done) {
      this.parser.push(this.decoder.decode())
      this.parser.end()
      this.releaseHeld()
      return this.waiting ? this.handleWaiting().then(() => this.bodyEnded()) : this.bodyEnded()
    }
    this.deadline.firstByte()
    this.parser.push(this.decoder.decode(result.value, STREAM))
    return this.waiting ? this.handleWaiting().then(() => this.produced()) : this.produced()
  }

  /** 'data' once there is something to send (or the stream failed or was cut), else null. */
  private produced(): 'data' | null {
    return this.out === '' && !this.failure && !this.truncated ? null : 'data'
  }

  /** The upstream body ended and its last events were handled. */
  private bodyEnded(): FillState {
    if (this.truncated) return 'data'
    this.endHandler()
    if (!this.completed && !this.failure) {
      this.failure = this.sawEvents
        ? new UpstreamError('The upstream ended the stream before finishing its answer.', 'upstream_incomplete')
        : new UpstreamError('The upstream answered with something that is not an event stream.', 'upstream_bad_response')
    }
    return 'ended'
  }

  /** A parsed event: to the handler now, or after the one it is still handling; none after a failure or the gateway's own end. */
  private onEvent(event: string, data: string): void {
    this.sawEvents = true
    if (this.failure || this.truncated) return
    if (this.waiting || this.holding) {
      this.queued.push([event, data])
      return
    }
    const waiting = this.handler.onEvent(event, data)
    if (waiting) this.waiting = waiting
    // A fast upstream's first piece can hold its whole answer: handling all of it before the first byte went out made
    // that byte ~50 µs later at concurrency 1 (bench:ab --ttfb 2000, bench's mock); on a quiet gateway the rest waits
    // until it has.
    else if (this.priming && this.out !== '' && !this.failure && !this.truncated) this.holding = true
  }

  /** The held events go to the handler next, before anything read after them (handleWaiting hands them over). */
  private releaseHeld(): void {
    if (!this.holding) return
    this.holding = false
    this.waiting ??= HANDED_OVER
  }

  /** Waits for the handler, then hands it the events parsed meanwhile, waiting again wherever it asks to. */
  private async handleWaiting(): Promise<void> {
    while (this.waiting) {
      await this.waiting
      this.waiting = null
      const queued = this.queued
      this.queued = []
      for (let at = 0; at < queued.length && !this.failure && !this.truncated; at++) {
        const [event, data] = queued[at]!
        const waiting = this.handler.onEvent(event, data)
        if (waiting) {
          this.waiting = waiting
          this.queued = queued.slice(at + 1)
          break
        }
      }
    }
  }

  private async finishWith(controller: ReadableStreamDirectController, { text, outcome, releaseUpstream }: Ending): Promise<void> {
    this.closed = true
    // Not flushed on its own: close() sends it with the end of the body, in one write rather than two.
    const written = controller.write(text)
    this.client.sent()
    if (written instanceof Promise) await written
    controller.close()
    if (releaseUpstream) this.reader.cancel().catch(() => {})
    this.end(outcome)
  }

  private clientGone(): void {
    if (this.closed) return
    this.closed = true
    this.deadline.abort('client_gone')
    this.reader.cancel().catch(() => {})
    this.end(clientGone(200))
  }

  private endHandler(): void {
    if (this.handlerEnded) return
    this.handlerEnded = true
    this.handler.onEnd()
  }

  /** The one place the stream path ends its request. */
  private end(outcome: Outcome): void {
    // Held events reached us from the upstream (a usage report among them, perhaps): the meter still sees them.
    if (this.holding) {
      this.holding = false
      const held = this.queued
      this.queued = []
      for (const [event, data] of held) if (this.handler.onEvent(event, data)) break
    }
    // Usage the translator still holds (e.g. Anthropic's input count from message_start) reaches the meter first.
    this.endHandler()
    this.deadline.release()
    const owner = this.owner
    this.owner = null
    owner?.finish(outcome)
  }
}
