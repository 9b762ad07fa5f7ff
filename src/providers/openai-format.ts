// Builders for the OpenAI wire format that translating adapters emit: chunks, usage objects, whole completions.
import type { ProviderUsage, ResponseIdentity } from './types'

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter'

export interface OpenAiToolCall {
  id: string
  type: 'function'
  function: { name: string; arguments: string }
}

/** The fixed prefix of every chunk of one stream, serialised once. */
export function chunkHead(identity: ResponseIdentity): string {
  return `{"id":${JSON.stringify(identity.id)},"object":"chat.completion.chunk","created":${identity.created},"model":${JSON.stringify(identity.model)}`
}

export function deltaChunk(head: string, delta: Record<string, unknown>, finishReason: FinishReason | null = null): string {
  const finish = finishReason === null ? 'null' : `"${finishReason}"`
  return `${head},"choices":[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish}}]}`
}

export function usageChunk(head: string, usage: ProviderUsage): string {
  return `${head},"choices":[],"usage":${JSON.stringify(openAiUsage(usage))}}`
}

export function openAiUsage(usage: ProviderUsage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  }
}

export function emptyUsage(): ProviderUsage {
  return { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }
}

export function completionJson(
  identity: ResponseIdentity,
  message: { content: string | null; tool_calls?: OpenAiToolCall[] },
  finishReason: FinishReason,
  usage: ProviderUsage | null,
): string {
  const outMessage: Record<string, unknown> = { role: 'assistant', content: message.content, refusal: null }
  if (message.tool_calls && message.tool_calls.length > 0) outMessage.tool_calls = message.tool_calls
  return JSON.stringify({
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, message: outMessage, logprobs: null, finish_reason: finishReason }],
    ...(usage ? { usage: openAiUsage(usage) } : {}),
  })
}
