// The streaming relay: upstream bytes → SSE parser → provider translator → OpenAI chunks → client, as they arrive.
import { GatewayError, UpstreamError, UpstreamTimeoutError } from '../../errors'
import { SseParser } from '../../lib/sse'
import type { RequestMeter } from '../../metering/meter'
import type { UsageStatus } from '../../metering/usage-record'
import { countTextTokens } from '../../metering/tokenizer'
import { chunkHead, deltaChunk, usageChunk } from '../../providers/openai-format'
import type { ProviderAdapter, ProviderUsage, ResponseIdentity, StreamSink, StreamTranslator } from '../../providers/types'
import type { UpstreamDeadline } from './deadline'

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const

/** A progressive hold: the output tokens held so far, and how to ask for more. */
export interface StreamBudget {
  tokens: number
  sliceTokens: number
  /** Asks the wallet for another slice; resolves with the output tokens granted (0: nothing more). */
  extend(): Promise<number>
}

/** The part of a body reader the relay uses. */
interface ByteReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>
  cancel(reason?: unknown): Promise<void>
}

const DONE_EVENT = 'data: [DONE]\n\n'
const encoder = new TextEncoder()

export function timeoutError(deadline: UpstreamDeadline): UpstreamTimeoutError {
  return new UpstreamTimeoutError(
    deadline.reason === 'first_byte_timeout' ? 'The upstream did not start answering in time.' : 'The upstream did not finish answering in time.',
  )
}

function errorEvent(error: GatewayError): string {
  return `data: ${JSON.stringify(error.toBody())}\n\n`
}

/**
 * One streamed answer. prime() reads until the first client-visible chunk, so an upstream that fails, stalls or
 * sends garbage before saying anything still gets a proper HTTP status (502/504); after that, failures become an
 * error event and the end of the stream. Whatever way it ends, the meter is finished exactly once.
 */
export class StreamRelay implements StreamSink {
  private readonly reader: ByteReader
  private readonly decoder = new TextDecoder()
  private readonly parser: SseParser
  private readonly translator: StreamTranslator
  /** SSE text produced since the last hand-off to the client. */
  private out = ''
  private failure: GatewayError | null = null
  private translatorEnded = false
  /** The provider marked a proper end of its stream. */
  private completed = false
  private closed = false
  /** The upstream sent at least one SSE event. */
  private sawEvents = false
  /** prime() already reached the end of the upstream body. */
  private primedEnded = false
  /** Output tokens delivered under a budget, and whether the budget cut the stream. */
  private delivered = 0
  private cut = false
  private budgetExhausted = false
  /** Under a budget, parsed events wait here and are translated one by one, so a slice can be asked for between two. */
  private readonly pending: [string, string][] = []
  private pendingAt = 0

  constructor(
    upstream: Response,
    adapter: ProviderAdapter,
    private readonly identity: ResponseIdentity,
    private readonly meter: RequestMeter,
    private readonly deadline: UpstreamDeadline,
    private readonly budget?: StreamBudget,
  ) {
    if (!upstream.body) throw new UpstreamError('The upstream answered a stream request with no body.', 'upstream_bad_response')
    this.reader = upstream.body.getReader()
    this.translator = adapter.createStreamTranslator(this, identity)
    this.parser = new SseParser((event, data) => {
      this.sawEvents = true
      if (this.budget) this.pending.push([event, data])
      else if (!this.failure) this.translator.onEvent(event, data)
    })
  }

  // StreamSink: what the translator emits.
  chunk(json: string): void {
    if (!this.failure && !this.cut) this.out += `data: ${json}\n\n`
  }
  text(delta: string): void {
    if (this.budget) {
      if (this.cut) return
      // Translators report text before its chunk: a delta the budget cannot cover is never sent, nor billed.
      const tokens = countTextTokens(delta)
      if (this.delivered + tokens > this.budget.tokens) {
        this.cut = true
        return
      }
      this.delivered += tokens
    }
    this.meter.addText(delta)
  }
  usage(usage: ProviderUsage, usageChunkJson: string): void {
    this.meter.setProviderUsage(usage)
    if (!this.failure && this.identity.includeUsage && usageChunkJson) this.out += `data: ${usageChunkJson}\n\n`
  }
  fail(error: GatewayError): void {
    if (!this.failure) this.failure = error
  }
  complete(): void {
    this.completed = true
  }

  /**
   * Reads until there is something to send. Throws the GatewayError if the stream failed before any output;
   * returns false if the client left meanwhile (the meter is then already finished).
   */
  async prime(): Promise<boolean> {
    const state = await this.fill()
    if (state === 'client_gone') {
      this.clientGone()
      return false
    }
    const ended = state === 'ended'
    if (this.failure && this.out === '') {
      this.finish(this.deadline.timedOut ? 'timeout' : 'upstream_error', this.failure.status, this.failure.code)
      throw this.failure
    }
    this.primedEnded = ended
    return true
  }

  toResponse(headers: Record<string, string>): Response {
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => this.pull(controller),
      cancel: () => this.clientGone(),
    })
    return new Response(body, { status: 200, headers: { ...headers, ...SSE_HEADERS } })
  }

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (this.closed) return
    let ended = this.primedEnded
    this.primedEnded = false
    await this.topUpBudget()
    if (this.out === '' && !ended && !this.failure && !this.cut) {
      const state = await this.fill()
      if (state === 'client_gone') this.clientGone()
      ended = state === 'ended'
    }
    if (this.closed) return
    if (this.cut) {
      this.send(controller, this.out + this.budgetEnd() + DONE_EVENT)
      this.close(controller)
      this.reader.cancel().catch(() => {})
      this.meter.markTruncated(this.delivered)
      this.finish('ok', 200, null)
      return
    }
    if (this.failure) {
      const failure = this.failure
      this.send(controller, this.out + errorEvent(failure))
      this.close(controller)
      this.reader.cancel().catch(() => {})
      this.finish(this.deadline.timedOut ? 'timeout' : 'upstream_error', 200, failure.code)
      return
    }
    if (ended) {
      this.send(controller, this.out + DONE_EVENT)
      this.close(controller)
      this.finish('ok', 200, null)
      return
    }
    this.send(controller, this.out)
  }

  /** Translates the events waiting under a budget, asking for the next slice whenever the output nears the hold. */
  private async translatePending(): Promise<void> {
    while (this.pendingAt < this.pending.length && !this.failure && !this.cut) {
      await this.topUpBudget()
      const [event, data] = this.pending[this.pendingAt++]!
      this.translator.onEvent(event, data)
    }
    if (this.pendingAt === this.pending.length) {
      this.pending.length = 0
      this.pendingAt = 0
    }
  }

  /** Before the output reaches what is held, ask the wallet for the next slice (once more after a refusal: never). */
  private async topUpBudget(): Promise<void> {
    const budget = this.budget
    if (!budget || this.budgetExhausted || this.cut) return
    if (this.delivered < budget.tokens - budget.sliceTokens / 2) return
    const granted = await budget.extend()
    if (granted > 0) budget.tokens += granted
    else this.budgetExhausted = true
  }

  /** The end of a stream the budget cut: finish_reason "length", and the usage chunk (of what was delivered) if asked. */
  private budgetEnd(): string {
    const head = chunkHead(this.identity)
    let end = `data: ${deltaChunk(head, {}, 'length')}\n\n`
    if (this.identity.includeUsage) {
      const usage = { inputTokens: this.meter.promptTokens, outputTokens: this.delivered, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
      end += `data: ${usageChunk(head, usage)}\n\n`
    }
    return end
  }

  /** Reads upstream pieces until the translator produced output or failed ('data'), or the body ended. */
  private async fill(): Promise<'data' | 'ended' | 'client_gone'> {
    while (this.out === '' && !this.failure && !this.cut) {
      let result: { done: boolean; value?: Uint8Array }
      try {
        result = await this.reader.read()
      } catch (error) {
        if (this.deadline.reason === 'client_gone') return 'client_gone'
        this.failure = this.deadline.timedOut
          ? timeoutError(this.deadline)
          : new UpstreamError(`The upstream connection broke mid-stream: ${(error as Error).message}`, 'upstream_disconnected')
        return 'data'
      }
      if (this.deadline.reason === 'client_gone') return 'client_gone'
      if (result.done) {
        this.parser.push(this.decoder.decode())
        this.parser.end()
        if (this.budget) await this.translatePending()
        if (this.cut) return 'data'
        this.endTranslator()
        if (!this.completed && !this.failure) {
          this.failure = this.sawEvents
            ? new UpstreamError('The upstream ended the stream before finishing its answer.', 'upstream_incomplete')
            : new UpstreamError('The upstream answered with something that is not an event stream.', 'upstream_bad_response')
        }
        return 'ended'
      }
      this.deadline.firstByte()
      this.parser.push(this.decoder.decode(result.value, { stream: true }))
      if (this.budget) await this.translatePending()
    }
    return 'data'
  }

  private send(controller: ReadableStreamDefaultController<Uint8Array>, text: string): void {
    this.out = ''
    if (text === '') return
    controller.enqueue(encoder.encode(text))
    this.meter.markFirstByte()
  }

  private close(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.closed = true
    controller.close()
  }

  private clientGone(): void {
    if (this.closed) return
    this.closed = true
    this.deadline.abort('client_gone')
    this.reader.cancel().catch(() => {})
    this.finish('client_aborted', 200, null)
  }

  private endTranslator(): void {
    if (this.translatorEnded) return
    this.translatorEnded = true
    this.translator.onEnd()
  }

  private finish(status: UsageStatus, httpStatus: number, errorCode: string | null): void {
    // Usage the translator still holds (e.g. Anthropic's input count from message_start) is collected first.
    this.endTranslator()
    this.deadline.release()
    this.meter.finish(status, httpStatus, errorCode)
  }
}
