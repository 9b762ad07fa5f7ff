// One chat completion end to end: resolve the model, estimate, call the provider, relay or translate, and meter it.
import { GatewayError, InvalidRequestError, ModelNotFoundError, UpstreamError } from '../../errors'
import type { Logger } from '../../lib/logger'
import { RequestMeter } from '../../metering/meter'
import { countPromptTokens } from '../../metering/tokenizer'
import type { UsageSink } from '../../metering/usage-record'
import type { Catalog, CatalogModel } from '../../pricing/catalog'
import { tokenClassCost } from '../../pricing/money'
import type { ProviderRegistry } from '../../providers/registry'
import type { ProviderAdapter, ResponseIdentity } from '../../providers/types'
import type { Principal } from '../auth/service'
import type { Admission, Ticket } from '../../limits/admission'
import { monthId } from '../../limits/keys'
import type { EmitEvent } from '../webhooks/emitter'
import { assertSubscribed } from './access'
import { planPayment } from './payment'
import { UpstreamDeadline, type AbortReason } from './deadline'
import type { ChatRequest } from './model'
import { StreamRelay, timeoutError, type StreamBudget } from './relay'

export interface ChatDeps {
  catalog: Catalog
  providers: ProviderRegistry
  recordUsage: UsageSink
  upstream: { firstByteTimeoutMs: number; totalTimeoutMs: number }
  /** Share of requests whose output is counted even when the provider reports usage. */
  meterCrosscheckRate: number
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
  /** Aborts when the client goes away. */
  clientSignal: AbortSignal | undefined
  /** performance.now() at arrival. */
  startedAt: number
}

/** An upstream error body is read for its message only; a huge one is not worth holding. */
const MAX_ERROR_BODY_CHARS = 64 * 1024

/** The client left before we could answer; nothing is sent, the meter already recorded it. */
export class ClientGoneError extends GatewayError {
  constructor() {
    super(499, 'client_closed_request', 'The client closed the request.', 'client_closed_request')
  }
}

export function resolveModel(catalog: Catalog, id: string): CatalogModel {
  const model = catalog.find(id)
  if (!model) throw new ModelNotFoundError(id)
  return model
}

/** Output cap: the client's max_completion_tokens / max_tokens, else the catalog default; never above the model's max. */
export function resolveMaxTokens(request: ChatRequest, model: CatalogModel): { maxTokens: number; clientSet: boolean } {
  const asked = request.max_completion_tokens ?? request.max_tokens
  if (asked == null) return { maxTokens: model.defaultMaxTokens, clientSet: false }
  return { maxTokens: Math.min(asked, model.maxOutputTokens), clientSet: true }
}

function failureStatus(reason: AbortReason | null) {
  if (reason === 'client_gone') return 'client_aborted' as const
  return reason ? ('timeout' as const) : ('upstream_error' as const)
}

export async function completeChat(deps: ChatDeps, call: ChatCall, responseHeaders: Record<string, string>): Promise<Response> {
  const { request } = call
  assertSubscribed(call.principal, deps.requireSubscription)
  const model = resolveModel(deps.catalog, request.model)
  const adapter: ProviderAdapter = deps.providers[model.provider]
  adapter.validate?.(request)
  const stream = request.stream === true
  const { maxTokens, clientSet } = resolveMaxTokens(request, model)
  const promptTokens = countPromptTokens(request)

  // Admission: one Redis round trip for the buckets and the money; it throws the 429/402/503 a refusal is.
  const plan = planPayment(call.principal, model, { promptTokens, maxTokens, clientSetMaxTokens: clientSet, stream }, deps.progressiveHoldTokens)
  const admission = deps.admission
  let ticket: Ticket | null = null
  if (admission) {
    try {
      ticket = await admission.admit({
        requestId: call.requestId,
        subject: plan.subject,
        accountId: call.principal.accountId,
        limits: call.principal.limits,
        mode: plan.mode,
        capNano: call.principal.spendCapNano,
        holdNano: plan.holdNano,
        chargeTokens: plan.chargeTokens,
      })
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'spending_cap_reached') {
        // Once a month per account: the event id is fixed, so repeats are dropped in process and in Postgres.
        deps.emit?.({
          accountId: call.principal.accountId,
          type: 'spending_cap.reached',
          id: `evt_cap_${call.principal.accountId}_${monthId().replace('-', '')}`,
          data: { month: monthId(), message: error.message },
        })
      }
      throw error
    }
    Object.assign(responseHeaders, ticket.headers)
  }
  // The finish pays first (hold settled, bucket corrected), then the record goes to the queue.
  const paid = ticket
  const recordUsage: UsageSink = paid
    ? (record) => {
        void admission!.settle(paid, record.costNano, record.inputTokens + record.outputTokens)
        deps.recordUsage(record)
      }
    : deps.recordUsage

  const meter = new RequestMeter(
    {
      requestId: call.requestId,
      keyId: call.principal.keyId,
      accountId: call.principal.accountId,
      model,
      stream,
      promptTokens,
      startedAt: call.startedAt,
      catalogVersion: deps.catalog.version,
      moneyMode: plan.mode,
      subject: plan.subject,
    },
    recordUsage,
    deps.meterCrosscheckRate > 0 && Math.random() < deps.meterCrosscheckRate,
  )
  const deadline = new UpstreamDeadline(deps.upstream.firstByteTimeoutMs, deps.upstream.totalTimeoutMs, call.clientSignal)
  const identity: ResponseIdentity = {
    id: `chatcmpl-${call.requestId.slice(4)}`,
    created: Math.floor(Date.now() / 1000),
    model: model.upstreamModel,
    includeUsage: request.stream_options?.include_usage === true,
  }

  const fail = (error: GatewayError): never => {
    const status = failureStatus(deadline.reason)
    deadline.release()
    meter.finish(status, status === 'client_aborted' ? 499 : error.status, error.code)
    if (status === 'client_aborted') throw new ClientGoneError()
    throw error
  }

  let upstream: Response
  try {
    upstream = await adapter.send({ request, model, stream, maxTokens, clientSetMaxTokens: clientSet, promptTokens, signal: deadline.signal })
  } catch (error) {
    if (error instanceof InvalidRequestError) {
      // The adapter refused to translate the request: nothing reached the upstream, so there is nothing to meter.
      deadline.release()
      if (paid) await admission!.settle(paid, 0, 0)
      throw error
    }
    if (error instanceof GatewayError) return fail(error)
    if (deadline.timedOut) return fail(timeoutError(deadline))
    deps.logger.warn('upstream unreachable', { requestId: call.requestId, provider: model.provider, error: (error as Error).message })
    return fail(new UpstreamError(`The ${model.provider} upstream could not be reached.`, 'upstream_unreachable'))
  }

  if (!upstream.ok) {
    const body = await upstream.text().catch(() => '')
    return fail(adapter.readError(upstream.status, body.slice(0, MAX_ERROR_BODY_CHARS), upstream.headers))
  }

  if (stream) {
    // A progressive hold: the relay asks for another slice as the output nears what is held, and ends the stream
    // cleanly (finish_reason "length") when the wallet cannot cover more.
    const budget: StreamBudget | undefined =
      paid && plan.sliceTokens !== null
        ? {
            tokens: plan.heldOutputTokens,
            sliceTokens: plan.sliceTokens,
            extend: async () => {
              const granted = await admission!.extend(paid, tokenClassCost(plan.sliceTokens!, model.prices.output))
              // Whole tokens only: a fraction of a token's price held is released at settlement.
              return Number((granted * 1_000_000n) / model.prices.output)
            },
          }
        : undefined
    let relay: StreamRelay
    try {
      relay = new StreamRelay(upstream, adapter, identity, meter, deadline, budget)
    } catch (error) {
      return fail(error as GatewayError)
    }
    // prime() finishes the meter itself on every path.
    if (!(await relay.prime())) throw new ClientGoneError()
    return relay.toResponse(responseHeaders)
  }

  deadline.firstByte()
  let body: string
  try {
    body = await upstream.text()
  } catch (error) {
    if (deadline.timedOut) return fail(timeoutError(deadline))
    return fail(new UpstreamError(`The ${model.provider} upstream connection broke: ${(error as Error).message}`, 'upstream_disconnected'))
  }
  let result: ReturnType<ProviderAdapter['readCompletion']>
  try {
    result = adapter.readCompletion(body, identity)
  } catch (error) {
    return fail(error instanceof GatewayError ? error : new UpstreamError(`The ${model.provider} upstream answer could not be read.`, 'upstream_bad_response'))
  }
  meter.addText(result.text)
  if (result.usage) meter.setProviderUsage(result.usage)
  meter.markFirstByte()
  deadline.release()
  meter.finish('ok', 200)
  return new Response(result.body, { status: 200, headers: { ...responseHeaders, 'content-type': 'application/json' } })
}
