// One embeddings request: resolve the model, read the input, count it, hold its worst case, then one exchange: call, read, finish.
import type { ClientConnection } from '../../exchange/deadline'
import { estimateEmbeddings } from '../../exchange/estimate-media'
import { exchangeJson } from '../../exchange/json-call'
import { InvalidRequestError, ModelNotFoundError } from '../../errors'
import { countPromptText } from '../../metering/prompt'
import type { EmbeddingsCall, MediaProviders } from '../../providers/media'
import type { Principal } from '../auth/service'
import { assertSubscribed } from '../chat/access'
import { paymentFor } from '../chat/payment'
import { resolveModel, type ChatDeps } from '../chat/service'
import { platformUsage, sessionModel } from '../chat/session-access'
import type { EmbeddingsRequest } from './model'

export type EmbeddingsDeps = Pick<ChatDeps, 'catalog' | 'exchange' | 'logger' | 'requireSubscription' | 'admission' | 'emit'> & {
  providers: MediaProviders['embeddings']
}

export interface EmbeddingsCallIn {
  requestId: string
  principal: Principal
  request: EmbeddingsRequest
  client: ClientConnection | undefined
  startedAt: number
}

type Input = EmbeddingsCall['input']

/** The input as texts or token-id arrays; empty input (or an empty element) is a 400, as OpenAI answers it. */
export function readInput(input: EmbeddingsRequest['input']): Input {
  if (typeof input === 'string') input = [input]
  if (input.length === 0) throw new InvalidRequestError("'input' is empty: send a non-empty string or a non-empty array.", 'input', 'empty_input')
  const first = input[0]
  if (typeof first === 'string') {
    const texts = input as string[]
    const empty = texts.findIndex((text) => text.length === 0)
    if (empty >= 0) throw new InvalidRequestError(`'input[${empty}]' is an empty string; every input must have text.`, `input[${empty}]`, 'empty_input')
    return { texts }
  }
  // One array of token ids is one input; an array of such arrays is several.
  const tokenIds = typeof first === 'number' ? [input as number[]] : (input as number[][])
  const empty = tokenIds.findIndex((ids) => ids.length === 0)
  if (empty >= 0) throw new InvalidRequestError(`'input[${empty}]' is an empty array of token ids.`, `input[${empty}]`, 'empty_input')
  return { tokenIds }
}

/** Our count: texts by the o200k counter (large ones off the main thread), token ids as given. */
async function countInput(input: Input): Promise<number> {
  if ('tokenIds' in input) return input.tokenIds.reduce((sum, ids) => sum + ids.length, 0)
  let tokens = 0
  for (const count of input.texts.map(countPromptText)) tokens += typeof count === 'number' ? count : await count
  return tokens
}

export async function createEmbeddings(deps: EmbeddingsDeps, call: EmbeddingsCallIn, responseHeaders: Record<string, string>): Promise<Response> {
  const { request } = call
  assertSubscribed(call.principal, deps.requireSubscription)
  const { session } = call.principal
  // A session token: its wallet, scope and mode decide, as on the chat route.
  const resolve = (catalog: typeof deps.catalog, id: string) => resolveModel(catalog, id, 'embedding')
  const model = session ? sessionModel(deps.catalog, session, request.model, resolve, 'embedding') : resolve(deps.catalog, request.model)
  const adapter = deps.providers[model.provider]
  if (!adapter) throw new ModelNotFoundError(request.model)
  const input = readInput(request.input)
  const inputs = 'texts' in input ? input.texts.length : input.tokenIds.length
  if (inputs > adapter.maxInputs) {
    throw new InvalidRequestError(`'${model.id}' takes at most ${adapter.maxInputs} inputs per request; this one has ${inputs}.`, 'input', 'too_many_inputs')
  }
  if ('tokenIds' in input && !adapter.takesTokenIds) {
    throw new InvalidRequestError(`'${model.id}' embeds text only; send 'input' as a string or an array of strings.`, 'input', 'unsupported_value')
  }
  const promptTokens = await countInput(input)
  const estimate = estimateEmbeddings(model, promptTokens, adapter.textMargin)
  const embeddingsCall: EmbeddingsCall = {
    model,
    input,
    dimensions: request.dimensions,
    encodingFormat: request.encoding_format ?? 'float',
    body: request,
    promptTokens,
  }
  // Built before anything is held: a request this provider cannot take is a 400 that never holds money.
  const upstreamRequest = adapter.prepare(embeddingsCall)
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
  }
  return exchangeJson(deps.exchange, start, { adapter, request: upstreamRequest, read: (body) => adapter.read(body, embeddingsCall) }, responseHeaders, deps.logger)
}
