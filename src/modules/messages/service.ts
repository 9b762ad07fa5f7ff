// One Messages API request: resolve the model, plan it (native or translated), then the one exchange: hold, call, relay or read, finish.
import type { ClientConnection } from '../../exchange/deadline'
import type { MessagesRequest } from '../../anthropic/messages-request'
import { AnthropicStreamRelay } from '../../anthropic/relay'
import { UpstreamError } from '../../errors'
import { Exchange } from '../../exchange/exchange'
import type { PaymentMethod } from '../../exchange/payment'
import { answered, failed, type Outcome } from '../../exchange/outcome'
import type { Principal } from '../auth/service'
import { assertSubscribed } from '../chat/access'
import { paymentFor } from '../chat/payment'
import { platformUsage, sessionModel } from '../chat/session-access'
import type { RequestTrace } from '../../lib/tracing'
import type { ChatDeps } from '../chat/service'
import { ClientGoneError, failedAnswer, readUpstreamBody, sendUpstream } from '../../exchange/upstream-call'
import { nativePlan, resolveMessagesModel, translatedPlan, type MessagesPlan } from './plan'

export interface MessagesCall {
  requestId: string
  principal: Principal
  body: MessagesRequest
  /** The client's connection (the Request): the deadline reads its abort signal once the request has lasted a check. */
  client: ClientConnection | undefined
  /** performance.now() at arrival. */
  startedAt: number
  /** The request's span when tracing is on. */
  trace?: RequestTrace | undefined
  /** How it is paid when not by the principal's own way (an x402 payment). */
  payment?: PaymentMethod
}

/** The model, its adapter and the plan of one request (also what an x402 quote is computed from). */
export async function planMessage(deps: ChatDeps, call: Pick<MessagesCall, 'requestId' | 'principal' | 'body'>, progressive: boolean) {
  const { session } = call.principal
  const model = session ? sessionModel(deps.catalog, session, call.body.model, resolveMessagesModel) : resolveMessagesModel(deps.catalog, call.body.model)
  const adapter = deps.providers[model.provider]
  const input = { requestId: call.requestId, model, adapter, body: call.body, progressiveSliceTokens: progressive ? deps.progressiveHoldTokens : null }
  const plan = adapter.messages ? await nativePlan(input, adapter.messages) : await translatedPlan(input)
  return { model, adapter, plan }
}

/** The stream's relay, made outside createMessage: its callbacks would otherwise share (and keep) that async function's whole frame, the request with it. */
function openMessagesRelay(upstream: Response, exchange: Exchange, plan: MessagesPlan): AnthropicStreamRelay {
  return new AnthropicStreamRelay(upstream, (sink) => plan.streamHandler(exchange, sink), exchange.deadline, false, exchange)
}

export async function createMessage(deps: ChatDeps, call: MessagesCall, responseHeaders: Record<string, string>): Promise<Response> {
  assertSubscribed(call.principal, deps.requireSubscription)
  const { session } = call.principal
  const stream = call.body.stream === true
  const payment = call.payment ?? paymentFor(call.principal, deps.admission, deps.emit)
  const { model, adapter, plan } = await planMessage(deps, call, payment.progressive)

  const exchange = await Exchange.open(deps.exchange, {
    requestId: call.requestId,
    keyId: call.principal.keyId,
    accountId: call.principal.accountId,
    model,
    stream,
    startedAt: call.startedAt,
    client: call.client,
    estimate: plan.estimate,
    payment,
    includeUsage: false,
    trace: call.trace,
    ...(session ? { platform: platformUsage(session) } : {}),
  })
  Object.assign(responseHeaders, exchange.headers)
  const { deadline } = exchange

  let outcome: Outcome | null = null
  let handedOff = false
  try {
    const upstream = await sendUpstream(adapter, plan.upstreamRequest, deadline, { logger: deps.logger, requestId: call.requestId, trace: call.trace })

    if (stream) {
      const relay = openMessagesRelay(upstream, exchange, plan)
      if (!(await relay.prime())) throw new ClientGoneError()
      handedOff = true
      // From here the stream owns the end: the relay finishes the exchange when it closes or is cancelled.
      return relay.toResponse(responseHeaders, exchange)
    }

    const answer = plan.readAnswer(await readUpstreamBody(upstream, deadline, model.provider))
    exchange.meter.output(answer.text)
    if (answer.usage) exchange.meter.setProviderUsage(answer.usage)
    exchange.sent()
    outcome = answered()
    return new Response(answer.body, { status: 200, headers: { ...responseHeaders, 'content-type': 'application/json' } })
  } catch (error) {
    const failure = failedAnswer(error, deadline, { logger: deps.logger, requestId: call.requestId, provider: model.provider })
    outcome = failure.outcome
    throw failure.error
  } finally {
    // The one place a request that is not (or not yet) a stream ends.
    if (!handedOff) exchange.finish(outcome ?? failed(new UpstreamError('The request ended unexpectedly.'), deadline))
  }
}
