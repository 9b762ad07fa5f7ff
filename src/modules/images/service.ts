// One image generation: resolve the model, check n, size and quality against its table, hold n × the most one image can
// cost, then one exchange: call, read, finish (billed the actual: tokens reported, or images delivered × their price).
import type { ClientConnection } from '../../exchange/deadline'
import { estimateImages } from '../../exchange/estimate-media'
import { exchangeJson } from '../../exchange/json-call'
import { InvalidRequestError, ModelNotFoundError } from '../../errors'
import { countPromptText } from '../../metering/prompt'
import type { CatalogModel } from '../../pricing/catalog'
import { AUTO, mostOutputTokens, mostPerImageNano, type ImagePricing } from '../../pricing/images'
import type { ImagesCall, MediaProviders } from '../../providers/media'
import type { Principal } from '../auth/service'
import { assertSubscribed } from '../chat/access'
import { paymentFor } from '../chat/payment'
import { resolveModel, type ChatDeps } from '../chat/service'
import { platformUsage, sessionModel } from '../chat/session-access'
import type { ImagesRequest } from './model'

export type ImagesDeps = Pick<ChatDeps, 'catalog' | 'exchange' | 'logger' | 'requireSubscription' | 'admission' | 'emit'> & {
  providers: MediaProviders['images']
}

export interface ImagesCallIn {
  requestId: string
  principal: Principal
  request: ImagesRequest
  client: ClientConnection | undefined
  startedAt: number
}

const listed = (values: readonly string[], auto: boolean) => [...values, ...(auto ? [AUTO] : [])].map((value) => `"${value}"`).join(', ')

/** n, quality and size as the model takes them; anything else is a 400 naming the field and what it takes. */
export function checkImageAsk(model: CatalogModel, request: ImagesRequest): { n: number; quality: string; size: string } {
  const pricing: ImagePricing = model.images!
  if (request.stream === true) throw new InvalidRequestError('Streaming image generation is not supported here; leave out stream.', 'stream', 'unsupported_value')
  const prompt = request.prompt
  if (prompt.trim().length === 0) throw new InvalidRequestError("'prompt' is empty: say what to draw.", 'prompt', 'empty_prompt')
  if (prompt.length > pricing.maxPromptChars) {
    throw new InvalidRequestError(`'prompt' has ${prompt.length} characters; '${model.id}' takes at most ${pricing.maxPromptChars}.`, 'prompt', 'prompt_too_long')
  }
  const n = request.n ?? 1
  if (n > pricing.maxImages) {
    throw new InvalidRequestError(`'${model.id}' makes at most ${pricing.maxImages} image${pricing.maxImages === 1 ? '' : 's'} per request; 'n' was ${n}.`, 'n', 'unsupported_value')
  }
  const quality = request.quality ?? pricing.defaultQuality
  const size = request.size ?? pricing.defaultSize
  const auto = pricing.acceptsAuto
  if (!pricing.qualities.includes(quality) && !(auto && quality === AUTO)) {
    throw new InvalidRequestError(`'${model.id}' takes quality ${listed(pricing.qualities, auto)}; not "${quality}".`, 'quality', 'unsupported_value')
  }
  if (!pricing.sizes.includes(size) && !(auto && size === AUTO)) {
    throw new InvalidRequestError(`'${model.id}' takes size ${listed(pricing.sizes, auto)}; not "${size}".`, 'size', 'unsupported_value')
  }
  // A size that one quality has and another lacks (no table here does, but a catalog entry may).
  if (mostPerImageNano(pricing, quality, size) === undefined && mostOutputTokens(pricing, quality, size) === undefined) {
    throw new InvalidRequestError(`'${model.id}' has no ${size} images at quality "${quality}".`, 'size', 'unsupported_value')
  }
  return { n, quality, size }
}

export async function generateImages(deps: ImagesDeps, call: ImagesCallIn, responseHeaders: Record<string, string>): Promise<Response> {
  const { request } = call
  assertSubscribed(call.principal, deps.requireSubscription)
  const { session } = call.principal
  // A session token: its wallet, scope and mode decide, as on the chat route.
  const resolve = (catalog: typeof deps.catalog, id: string) => resolveModel(catalog, id, 'image')
  const model = session ? sessionModel(deps.catalog, session, request.model, resolve, 'image') : resolve(deps.catalog, request.model)
  const adapter = deps.providers[model.provider]
  if (!adapter) throw new ModelNotFoundError(request.model)
  const ask = checkImageAsk(model, request)
  // Only token-billed models bill the prompt.
  const counted = model.images!.outputTokens ? countPromptText(request.prompt) : 0
  const promptTokens = typeof counted === 'number' ? counted : await counted
  const estimate = estimateImages(model, { ...ask, promptTokens, textMargin: adapter.textMargin })
  const imagesCall: ImagesCall = { model, ...ask, body: request, outputTokensPerImage: estimate.outputTokensPerImage }
  // Built before anything is held: a request this provider cannot take is a 400 that never holds money.
  const upstreamRequest = adapter.prepare(imagesCall)
  const start = {
    requestId: call.requestId,
    keyId: call.principal.keyId,
    accountId: call.principal.accountId,
    model,
    startedAt: call.startedAt,
    client: call.client,
    estimate,
    payment: paymentFor(call.principal, deps.admission, deps.emit),
    ...(session ? { platform: platformUsage(session) } : {}),
    ...(estimate.imageTier ? { imageTier: estimate.imageTier } : {}),
  }
  return exchangeJson(deps.exchange, start, { adapter, request: upstreamRequest, read: (body) => adapter.read(body, imagesCall) }, responseHeaders, deps.logger)
}
