// The gateway's usage and OpenAI finish reasons in the Messages API's terms.
import type { ProviderUsage } from '../providers/types'

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'stop_sequence' | 'refusal'

/**
 * OpenAI's (and our translated providers') finish reason as Anthropic's stop reason. A stop sequence ends an OpenAI
 * answer with "stop" as a natural end does, and nothing tells them apart, so both are end_turn.
 */
export function stopReasonOf(finishReason: string | null | undefined): StopReason {
  switch (finishReason) {
    case 'length':
      return 'max_tokens'
    case 'tool_calls':
    case 'function_call':
      return 'tool_use'
    case 'content_filter':
      return 'refusal'
    default:
      return 'end_turn'
  }
}

export interface MessagesUsage {
  input_tokens: number
  output_tokens: number
  cache_creation_input_tokens: number
  cache_read_input_tokens: number
}

/** Anthropic counts cache reads and writes apart from input_tokens; the gateway's inputTokens includes both. */
export function messagesUsage(usage: ProviderUsage | null, fallbackInputTokens = 0): MessagesUsage {
  if (!usage) return { input_tokens: fallbackInputTokens, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
  return {
    input_tokens: Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens),
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
  }
}
