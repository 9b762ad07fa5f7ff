// Anthropic's accounting of a message read in the gateway's terms: token usage and the finish reason.
import type { FinishReason } from '../openai-format'
import type { ProviderUsage } from '../types'
import type { AnthropicUsage } from './wire'

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0)

/** Anthropic counts cache reads and writes apart from input_tokens; the gateway's inputTokens includes both. */
export function readAnthropicUsage(usage: AnthropicUsage | null | undefined): ProviderUsage | null {
  if (!usage || typeof usage.input_tokens !== 'number') return null
  const cacheRead = num(usage.cache_read_input_tokens)
  const cacheWrite = num(usage.cache_creation_input_tokens)
  return {
    inputTokens: usage.input_tokens + cacheRead + cacheWrite,
    outputTokens: num(usage.output_tokens),
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    // Anthropic bills thinking as output tokens without reporting them apart.
    reasoningTokens: 0,
  }
}

export function finishReasonOf(stopReason: string | null | undefined): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length'
    case 'tool_use':
      return 'tool_calls'
    case 'refusal':
      return 'content_filter'
    default:
      // end_turn, stop_sequence, pause_turn, and anything newer still ended the turn normally from the client's view.
      return 'stop'
  }
}
