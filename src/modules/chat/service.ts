// One chat completion: resolve the model, estimate the worst case, build the upstream request, then one exchange: hold, call, relay or read, finish.
import type { ClientConnection } from '../../exchange/deadline'
import { Exchange, type ExchangeDeps } from '../../exchange/exchange'
import { estimateChat } from '../../exchange/estimate'
import { answered, failed, type Outcome } from '../../exchange/outcome'
import { StreamRelay } from '../../exchange/relay'
import { ModelKindError, ModelNotFoundError, UpstreamError } from '../../errors'
import type { Admission } from '../../limits/admission'
import type { Logger } from '../../lib/logger'
import { measurePrompt } from '../../metering/prompt'
import type { ChatRequest } from '../../openai/chat-request'
import type { RequestTrace } from '../../lib/tracing'
import type { Catalog, CatalogModel, ModelKind } from '../../pricing/catalog'
import type { ProviderRegistry } from '../../providers/registry'
import type { ProviderAdapter, ResponseIdentity } from '../../providers/types'
import type { Principal } from '../auth/service'
import type { EmitEvent } from '../webhooks/emitter'
import { assertSubscribed } from './access'
import { paymentFor } from './payment'
import type { PaymentMethod } from '../../exchange/payment'
import { platformUsage, sessionModel } from './session-access'
import { ClientGoneError, failedAnswer, readUpstreamBody, sendUpstream } from '../../exchange/upstream-call'

export interface ChatDeps {
  catalog: Catalog
  providers: ProviderRegistry
  exchange: ExchangeDeps
  logger: Logger
  /** Agent keys need an active subscription (REQUIRE_SUBSCRIPTION). */
  requireSubscription: boolean
  /** Rate limits, wallet holds and spending caps in Redis; null runs without them (tests of the bare proxy). */
  admission: Admission | null
  /** Output tokens per slice of a progressive hold. */
  progressiveHoldTokens: number
  /** Webhook events (spending_cap.reached); optional for the bare proxy. */
  emit?: EmitEvent
}

export interface ChatCall {
  requestId: string
  principal: Principal
  request: ChatRequest
  /** The client's connection (the Request): the deadline reads its abort signal once the request has lasted a check. */
  client: ClientConnection | undefined
  /** performance.now() at arrival. */
  startedAt: number
  /** The request's span when tracing is on. */
  trace?: RequestTrace | undefined
  /** How it is paid when not by the principal's own way (an x402 payment). */
  payment?: PaymentMethod
}

/** The catalog model an endpoint serves: unknown is a 404, a model of another kind (an embedding model sent to chat) a 400. */
export function resolveModel(catalog: Catalog, id: string, kind: ModelKind = 'chat'): CatalogModel {
  const model = catalog.find(id)
  if (!model) throw new ModelNotFoundError(id)
  if (model.kind !== kind) throw new ModelKindError(model.id, model.kind, kind)
  return model
}

/**
 * The stream's relay, made outside completeChat: closures made in an async function share its whole frame, so the
 * relay's would keep the parsed request and its serialised upstream body (a long prompt, twice) alive for as long as
 * the stream runs. These hold the exchange, the adapter and the identity only, and only a budgeted stream keeps them.
 */
function openRelay(upstream: Response, exchange: Exchange, adapter: ProviderAdapter, identity: ResponseIdentity): StreamRelay {
  return new StreamRelay(
    upstream,
    (sink) => exchange.streamHandler(sink, (translatorSink) => adapter.createStreamTranslator(translatorSink, identity), identity),
    exchange.deadline,
    identity.includeUsage,
    exchange,
  )
}

export async function completeChat(deps: ChatDeps, call: ChatCall, responseHeaders: Record<string, string>): Promise<Response> {
  const { request } = call
  assertSubscribed(call.principal, deps.requireSubscription)
  const { session } = call.principal
  const model = session ? sessionModel(deps.catalog, session, request.model) : resolveModel(deps.catalog, request.model)
  const adapter = deps.providers[model.provider]
  const stream = request.stream === true
  const payment = call.payment ?? paymentFor(call.principal, deps.admission, deps.emit)
  const measuring = measurePrompt(request)
  const estimate = estimateChat({
    request,
    model,
    measure: measuring instanceof Promise ? await measuring : measuring,
    profile: adapter.prompt,
    progressiveSliceTokens: payment.progressive ? deps.progressiveHoldTokens : null,
  })
  // Built before anything is held: a request this provider cannot take is a 400 that never holds money.
  const upstreamRequest = adapter.prepare({ request, model, stream, maxTokens: estimate.outputCap, promptTokens: estimate.promptTokens })
  const identity: ResponseIdentity = {
    id: `chatcmpl-${call.requestId.slice(4)}`,
    created: Math.floor(Date.now() / 1000),
    model: model.upstreamModel,
    includeUsage: request.stream_options?.include_usage === true,
  }

  const opening = Exchange.open(deps.exchange, {
    requestId: call.requestId,
    keyId: call.principal.keyId,
    accountId: call.principal.accountId,
    model,
    stream,
    startedAt: call.startedAt,
    client: call.client,
    estimate,
    payment,
    includeUsage: identity.includeUsage,
    trace: call.trace,
    ...(session ? { platform: platformUsage(session) } : {}),
  })
  const exchange = opening instanceof Promise ? await opening : opening
  Object.assign(responseHeaders, exchange.headers)
  const { deadline } = exchange

  let outcome: Outcome | null = null
  let handedOff = false
  try {
    const upstream = await sendUpstream(adapter, upstreamRequest, deadline, { logger: deps.logger, requestId: call.requestId, trace: call.trace })

    if (stream) {
      const relay = openRelay(upstream, exchange, adapter, identity)
      if (!(await relay.prime())) throw new ClientGoneError()
      handedOff = true
      // From here the stream owns the end: the relay finishes the exchange when it closes or is cancelled.
      return relay.toResponse(responseHeaders, exchange)
    }

    const body = await readUpstreamBody(upstream, deadline, model.provider)
    const result = adapter.readCompletion(body, identity)
    exchange.meter.output(result.text)
    if (result.usage) exchange.meter.setProviderUsage(result.usage)
    exchange.sent()
    outcome = answered()
    return new Response(result.body, { status: 200, headers: { ...responseHeaders, 'content-type': 'application/json' } })
  } catch (error) {
    const failure = failedAnswer(error, deadline, { logger: deps.logger, requestId: call.requestId, provider: model.provider })
    outcome = failure.outcome
    throw failure.error
  } finally {
    // The one place a request that is not (or not yet) a stream ends.
    if (!handedOff) exchange.finish(outcome ?? failed(new UpstreamError('The request ended unexpectedly.'), deadline))
  }
}
