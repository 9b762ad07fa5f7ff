// POST /v1/messages/count_tokens: Anthropic's own (free) count for its models, our tiktoken count of the translated prompt for the rest.
import type { CountTokensRequest } from '../../anthropic/messages-request'
import { promptToChat } from '../../anthropic/to-chat'
import { UpstreamError } from '../../errors'
import { UpstreamDeadline, type ClientConnection } from '../../exchange/deadline'
import { countedPromptTokens, measurePrompt } from '../../metering/prompt'
import type { ChatDeps } from '../chat/service'
import { readUpstreamBody, sendUpstream } from '../../exchange/upstream-call'
import { resolveMessagesModel } from './plan'

export type CountTokensDeps = Pick<ChatDeps, 'catalog' | 'providers' | 'logger'> & { exchange: Pick<ChatDeps['exchange'], 'upstream'> }

export interface CountTokensCall {
  requestId: string
  body: CountTokensRequest
  client: ClientConnection | undefined
}

export async function countTokens(deps: CountTokensDeps, call: CountTokensCall): Promise<{ input_tokens: number }> {
  const model = resolveMessagesModel(deps.catalog, call.body.model)
  const adapter = deps.providers[model.provider]
  const native = adapter.messages
  if (!native) {
    const request = promptToChat(call.body)
    return { input_tokens: countedPromptTokens(await measurePrompt(request)) }
  }
  const { firstByteTimeoutMs, totalTimeoutMs } = deps.exchange.upstream
  const deadline = new UpstreamDeadline(firstByteTimeoutMs, totalTimeoutMs, call.client)
  let readToEnd = false
  try {
    const upstream = await sendUpstream(adapter, native.prepareCountTokens(call.body as Record<string, unknown>, model.upstreamModel), deadline, {
      logger: deps.logger,
      requestId: call.requestId,
    })
    const text = await readUpstreamBody(upstream, deadline, model.provider)
    readToEnd = true
    let inputTokens: unknown
    try {
      inputTokens = (JSON.parse(text) as { input_tokens?: unknown } | null)?.input_tokens
    } catch {
      inputTokens = undefined
    }
    if (typeof inputTokens !== 'number' || !Number.isInteger(inputTokens) || inputTokens < 0) {
      throw new UpstreamError(`The ${model.provider} upstream answered count_tokens without a token count.`, 'upstream_bad_response')
    }
    return { input_tokens: inputTokens }
  } finally {
    // Frees the upstream slot; an answer not read to its end is aborted.
    deadline.end(readToEnd)
  }
}
