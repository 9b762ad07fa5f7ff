// The one interface every upstream implements: send a chat request, read a completion, translate a stream, read an error.
import type { GatewayError } from '../errors'
import type { ChatRequest } from '../modules/chat/model'
import type { CatalogModel, ProviderId } from '../pricing/catalog'

/** Token usage as a provider reports it, normalised. */
export interface ProviderUsage {
  /** Every prompt token, cached and cache-write ones included. */
  inputTokens: number
  /** Every generated token, reasoning included. */
  outputTokens: number
  /** Prompt tokens read from the provider's prompt cache (a subset of inputTokens). */
  cachedInputTokens: number
  /** Prompt tokens written to the provider's prompt cache (a subset of inputTokens). */
  cacheWriteTokens: number
  /** Reasoning/thinking tokens (a subset of outputTokens). */
  reasoningTokens: number
}

export interface UpstreamCall {
  request: ChatRequest
  model: CatalogModel
  stream: boolean
  /** Output cap sent upstream: the client's max_tokens, else the catalog default, never above the model's max output. */
  maxTokens: number
  /** Whether the client itself set max_tokens / max_completion_tokens. */
  clientSetMaxTokens: boolean
  /** Prompt tokens as we counted them (the mock reports these as its usage). */
  promptTokens: number
  signal: AbortSignal
}

/** What every chunk or completion we emit is stamped with. */
export interface ResponseIdentity {
  /** chatcmpl-… id, used when the upstream gives none in OpenAI form. */
  id: string
  created: number
  /** The catalog model's upstream id, used until the upstream names its exact version. */
  model: string
  /** The client set stream_options.include_usage: it gets the usage chunk (we always ask the upstream for it). */
  includeUsage: boolean
}

export interface CompletionResult {
  /** The OpenAI chat.completion JSON text sent to the client. */
  body: string
  /** Every generated text and tool-call argument, for counting. */
  text: string
  usage: ProviderUsage | null
}

/** Where a stream translator puts what it reads; the relay implements it. */
export interface StreamSink {
  /** One chat.completion.chunk JSON object (text, serialised). */
  chunk(json: string): void
  /**
   * Generated text or tool-call arguments as they pass, for counting. Called BEFORE the chunk that carries them:
   * a stream whose budget runs out drops that chunk (see StreamRelay).
   */
  text(delta: string): void
  /** The provider's usage and the OpenAI usage chunk (`choices: []`) to forward if the client asked for it. */
  usage(usage: ProviderUsage, usageChunkJson: string): void
  /** The upstream failed mid-stream; the relay tells the client in OpenAI's error form and ends the stream. */
  fail(error: GatewayError): void
  /**
   * The provider marked a proper end (OpenAI `[DONE]`, Anthropic `message_stop`, Gemini `finishReason`).
   * A body that ends without it is a broken stream: the client is told, and the meter does not trust partial usage.
   */
  complete(): void
}

export interface StreamTranslator {
  /** One SSE event from the upstream (event name defaults to "message"). */
  onEvent(event: string, data: string): void
  /** The upstream body ended. */
  onEnd(): void
}

export interface ProviderAdapter {
  readonly id: ProviderId
  /** Throws InvalidRequestError for what this provider cannot do (before anything is sent). */
  validate?(request: ChatRequest): void
  /**
   * Sends the request upstream; rejects if it cannot be sent. Timeouts and aborts come through call.signal.
   * A request the provider cannot express rejects with InvalidRequestError before anything is sent (a 400, not metered).
   */
  send(call: UpstreamCall): Promise<Response>
  /** Translates a successful non-streaming upstream body into an OpenAI chat.completion. */
  readCompletion(body: string, identity: ResponseIdentity): CompletionResult
  createStreamTranslator(sink: StreamSink, identity: ResponseIdentity): StreamTranslator
  /** Maps an upstream error answer to the client-facing error; never leaks our upstream credentials. */
  readError(status: number, body: string, headers: Headers): GatewayError
}
