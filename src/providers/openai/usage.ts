// Reads OpenAI's usage object into the normalised ProviderUsage.
import type { ProviderUsage } from '../types'

interface OpenAiUsage {
  prompt_tokens?: number
  completion_tokens?: number
  prompt_tokens_details?: { cached_tokens?: number } | null
  completion_tokens_details?: { reasoning_tokens?: number } | null
}

export function readOpenAiUsage(usage: OpenAiUsage | null | undefined): ProviderUsage | null {
  if (!usage || typeof usage.prompt_tokens !== 'number') return null
  return {
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens ?? 0,
    cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWriteTokens: 0,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  }
}
