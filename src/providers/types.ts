// The one interface every upstream implements: send a chat request, read a completion, translate a stream, read an error.
import type { GatewayError } from '../errors'
import type { ChatRequest } from '../openai/chat-request'
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
  /** Image tokens read (a subset of inputTokens; image models). */
  imageInputTokens?: number
  /** Image tokens generated (a subset of outputTokens; image models). */
  imageOutputTokens?: number
  /** Images delivered, for models priced per image. */
  images?: number
}

export interface UpstreamCall {
  request: ChatRequest
  model: CatalogModel
  stream: boolean
  /**
   * The output cap per choice: the larger of the client's max_tokens / max_completion_tokens, else the catalog default,
   * never above the model's max output. The adapter always sends exactly this, in the provider's own field: it is what
   * the hold covers, so the upstream can never bill past it.
   */
  maxTokens: number
  /** Prompt tokens as we counted them (the mock reports these as its usage). */
  promptTokens: number
}

/** A request built for the upstream, serialised once, before admission (so a 400 never holds money). */
export interface UpstreamRequest {
  url: string
  headers: Record<string, string>
  /** The JSON body as text. */
  body: string
}

/** How a provider's prompt accounting differs from our o200k count: what the worst-case estimate adds for it. */
export interface PromptProfile {
  /** Our count of the text × this covers the provider's own tokenizer and framing (measured; see each provider). */
  textMargin: number
  /** Tokens the provider adds to the prompt when tools are declared (its tool-use system prompt). */
  toolPromptTokens: number
  /** The most one image can bill, by OpenAI's `detail` (others ignore it); a model may override it in the catalog. */
  imageMaxTokens(detail: string | undefined): number
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
  /** Everything generated that the provider bills: text, refusals, tool names and arguments, visible reasoning. */
  text: string
  usage: ProviderUsage | null
}

/** What kind of generated tokens a delta carries: all of them are billed as output. */
export type OutputKind = 'text' | 'refusal' | 'tool' | 'reasoning'

/** Where a stream translator puts what it reads; the relay implements it (the meter and a budget may sit between). */
/** Extracts the generated text of one stream chunk (JSON text). */
export type ChunkReader = (chunkJson: string) => string
/** At least the UTF-8 bytes its reader would return for a chunk, found without parsing it (an object: one a stream, no closure). */
export interface ChunkBound {
  atMost(chunkJson: string): number
}

export interface StreamSink {
  /** One chat.completion.chunk JSON object (text, serialised). */
  chunk(json: string): void
  /**
   * Generated tokens as they pass, for counting: text, refusals, tool names and arguments, reasoning (even when the
   * client is not shown it). Called BEFORE the chunk that carries them: a budget that cannot cover them drops that chunk.
   */
  output(delta: string, kind: OutputKind): void
  /**
   * A chunk (JSON text) carrying generated tokens that `read` extracts: read only if they must be counted (a
   * checkpoint, a broken stream, a crosscheck, a budget near its end), so the common stream never parses its chunks.
   * `bytesAtMost`, where the format has one, bounds the UTF-8 bytes `read` would return without parsing (a budget far
   * from its end needs no more). Called, like output(), before the chunk that carries them.
   */
  outputLater(chunkJson: string, read: ChunkReader, bytesAtMost?: ChunkBound): void
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

/**
 * A provider that speaks the Anthropic Messages API itself: /v1/messages bodies go to it as the client wrote them
 * (model and max_tokens set by the gateway), and its events come back unchanged, metered on their way.
 */
export interface NativeMessagesApi {
  /** The client's body with the upstream model id and the output cap the hold covers, serialised once. */
  prepare(body: Record<string, unknown>, upstreamModel: string, maxTokens: number): UpstreamRequest
  /** The client's count_tokens body for the upstream's own (free) count. */
  prepareCountTokens(body: Record<string, unknown>, upstreamModel: string): UpstreamRequest
  /**
   * Relays each event as it came, as whole SSE text through sink.chunk, while the meter sees its output and the usage
   * of message_start and message_delta.
   */
  createStreamRelay(sink: StreamSink): NativeMessagesRelay
  /** A non-streamed message, relayed as it is: what it generated (billed as output) and the usage it reports. */
  readMessage(body: string): { text: string; usage: ProviderUsage | null }
}

export interface NativeMessagesRelay extends StreamTranslator {
  /** The index of the content block started and not yet stopped (where a budget's cut must close it); null if none. */
  openBlock(): number | null
}

export interface ProviderAdapter {
  readonly id: ProviderId
  readonly prompt: PromptProfile
  /** Set when the provider speaks the Anthropic Messages API natively (Anthropic). */
  readonly messages?: NativeMessagesApi
  /**
   * Builds the upstream request with the cap of call.maxTokens in the provider's field. Pure, and called before
   * admission: throws InvalidRequestError for what this provider cannot do, so a 400 never holds money.
   */
  prepare(call: UpstreamCall): UpstreamRequest
  /** Sends a prepared request; rejects if it cannot be sent. Timeouts and aborts come through the signal. */
  send(request: UpstreamRequest, signal: AbortSignal): Promise<Response>
  /** Translates a successful non-streaming upstream body into an OpenAI chat.completion. */
  readCompletion(body: string, identity: ResponseIdentity): CompletionResult
  createStreamTranslator(sink: StreamSink, identity: ResponseIdentity): StreamTranslator
  /** Maps an upstream error answer to the client-facing error; never leaks our upstream credentials. */
  readError(status: number, body: string, headers: Headers): GatewayError
}
