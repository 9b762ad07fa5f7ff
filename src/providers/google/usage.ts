// Reads Gemini's usageMetadata into the normalised ProviderUsage.
import type { ProviderUsage } from '../types'
import type { GeminiUsageMetadata } from './wire'

export function readGeminiUsage(usage: GeminiUsageMetadata | undefined): ProviderUsage | null {
  if (!usage || typeof usage.promptTokenCount !== 'number') return null
  const thoughts = usage.thoughtsTokenCount ?? 0
  return {
    inputTokens: usage.promptTokenCount,
    // Gemini counts thinking apart from the answer, but bills it as output: OpenAI's completion_tokens includes reasoning.
    outputTokens: (usage.candidatesTokenCount ?? 0) + thoughts,
    cachedInputTokens: usage.cachedContentTokenCount ?? 0,
    cacheWriteTokens: 0,
    reasoningTokens: thoughts,
  }
}
