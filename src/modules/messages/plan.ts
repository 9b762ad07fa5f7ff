// How one Messages API request runs on its model: natively (Anthropic: the body as it is) or translated (OpenAI, Google, mock: through the chat adapters).
import { closingEvents, AnthropicEventWriter } from '../../anthropic/events'
import { completionToMessage } from '../../anthropic/from-completion'
import { measureMessagesPrompt } from '../../anthropic/measure'
import type { MessagesRequest } from '../../anthropic/messages-request'
import { messagesToChat } from '../../anthropic/to-chat'
import { ModelNotFoundError } from '../../errors'
import { estimateChat, estimateWorstCase, type Estimate } from '../../exchange/estimate'
import type { Exchange } from '../../exchange/exchange'
import type { EventHandler, RelaySink } from '../../exchange/relay-contract'
import { measurePrompt } from '../../metering/prompt'
import type { Catalog, CatalogModel } from '../../pricing/catalog'
import type { NativeMessagesApi, NativeMessagesRelay, ProviderAdapter, ProviderUsage, ResponseIdentity, UpstreamRequest } from '../../providers/types'

export interface MessagesPlan {
  estimate: Estimate
  /** Built before anything is held: a request the provider cannot take is a 400 that never holds money. */
  upstreamRequest: UpstreamRequest
  /** A non-streamed answer: the Anthropic message for the client, what it generated, the provider's usage. */
  readAnswer(upstreamBody: string): { body: string; text: string; usage: ProviderUsage | null }
  /** A streamed answer: the exchange's metered handler, writing Anthropic events to the relay. */
  streamHandler(exchange: Exchange, sink: RelaySink): EventHandler
}

export interface PlanInput {
  requestId: string
  model: CatalogModel
  adapter: ProviderAdapter
  body: MessagesRequest
  /** Output tokens per slice when the payment may hold progressively; null otherwise. */
  progressiveSliceTokens: number | null
}

const upstreamIds = new WeakMap<Catalog, Map<string, CatalogModel>>()

/** A catalog id (`anthropic/claude-sonnet-4`), a bare one (`claude-sonnet-4`), or an upstream id (`claude-sonnet-4-20250514`). */
export function resolveMessagesModel(catalog: Catalog, id: string): CatalogModel {
  const found = catalog.find(id)
  if (found) return found
  let byUpstream = upstreamIds.get(catalog)
  if (!byUpstream) {
    byUpstream = new Map()
    // The first entry wins: the catalog lists a model's canonical id before any alias of it.
    for (const model of catalog.models) if (!byUpstream.has(model.upstreamModel)) byUpstream.set(model.upstreamModel, model)
    upstreamIds.set(catalog, byUpstream)
  }
  const model = byUpstream.get(id)
  if (!model) throw new ModelNotFoundError(id)
  return model
}

/** The stream identity the exchange stamps OpenAI chunks with; Messages streams use it only inside a translation. */
function identityOf(input: PlanInput, includeUsage: boolean): ResponseIdentity {
  return { id: `chatcmpl-${input.requestId.slice(4)}`, created: Math.floor(Date.now() / 1000), model: input.model.upstreamModel, includeUsage }
}

const messageId = (requestId: string) => `msg_${requestId.slice(4)}`

/**
 * Anthropic: the body goes as the client wrote it, with the upstream model id and the cap the hold covers. max_tokens
 * is required by the Messages API, so the client always chose the cap, and a chosen cap is held whole (estimate.ts).
 */
export async function nativePlan(input: PlanInput, native: NativeMessagesApi): Promise<MessagesPlan> {
  const { model, adapter, body } = input
  const cap = Math.min(body.max_tokens, model.maxOutputTokens)
  const estimate = estimateWorstCase({
    cap,
    clientSet: true,
    choices: 1,
    stream: body.stream === true,
    model,
    measure: await measureMessagesPrompt(body),
    profile: adapter.prompt,
    progressiveSliceTokens: input.progressiveSliceTokens,
  })
  return {
    estimate,
    upstreamRequest: native.prepare(body as Record<string, unknown>, model.upstreamModel, cap),
    readAnswer: (upstreamBody) => ({ body: upstreamBody, ...native.readMessage(upstreamBody) }),
    streamHandler(exchange, sink) {
      let relay: NativeMessagesRelay | null = null
      return exchange.streamHandler(
        sink,
        (meteredSink) => (relay = native.createStreamRelay(meteredSink)),
        identityOf(input, false),
        (outputTokens) => [closingEvents(relay?.openBlock() ?? null, 'max_tokens', { output_tokens: outputTokens })],
      )
    },
  }
}

/** OpenAI, Google and mock models: the request becomes a ChatRequest for their adapter, the answer becomes Anthropic's again. */
export async function translatedPlan(input: PlanInput): Promise<MessagesPlan> {
  const { model, adapter, body } = input
  const request = { ...messagesToChat(body), model: model.id }
  const stream = request.stream === true
  const estimate = estimateChat({ request, model, measure: await measurePrompt(request), profile: adapter.prompt, progressiveSliceTokens: input.progressiveSliceTokens })
  const upstreamRequest = adapter.prepare({ request, model, stream, maxTokens: estimate.outputCap, promptTokens: estimate.promptTokens })
  // Usage chunks are read from the provider as they come; the client gets usage in message_delta.
  const identity = identityOf(input, true)
  const id = messageId(input.requestId)
  return {
    estimate,
    upstreamRequest,
    readAnswer(upstreamBody) {
      const result = adapter.readCompletion(upstreamBody, identity)
      return { body: completionToMessage(result.body, result.usage, { id, model: model.upstreamModel }), text: result.text, usage: result.usage }
    },
    streamHandler(exchange, sink) {
      const writer = new AnthropicEventWriter({ id, model: model.upstreamModel, promptTokens: estimate.promptTokens })
      return exchange.streamHandler(
        sink,
        (meteredSink) => writer.translator(meteredSink, (writerSink) => adapter.createStreamTranslator(writerSink, identity)),
        identity,
        (outputTokens) => writer.cut(outputTokens),
      )
    },
  }
}
