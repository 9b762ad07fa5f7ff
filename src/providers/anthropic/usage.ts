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

/**
 * A stream's usage as its events report it: every count Anthropic sends is cumulative for the message (message_start,
 * then message_delta), so the latest of each wins. `once()` gives it a single time, and only if any was seen.
 */
export class AnthropicUsageTally {
  private input = 0
  private output = 0
  private cacheRead = 0
  private cacheWrite = 0
  private seen = false
  private given = false

  take(usage: AnthropicUsage | null | undefined): void {
    if (!usage) return
    if (typeof usage.input_tokens === 'number') this.input = usage.input_tokens
    if (typeof usage.output_tokens === 'number') this.output = usage.output_tokens
    if (typeof usage.cache_read_input_tokens === 'number') this.cacheRead = usage.cache_read_input_tokens
    if (typeof usage.cache_creation_input_tokens === 'number') this.cacheWrite = usage.cache_creation_input_tokens
    this.seen = true
  }

  /** The usage so far, the first time it is asked for after any was seen; null otherwise. */
  once(): ProviderUsage | null {
    if (this.given || !this.seen) return null
    this.given = true
    return {
      inputTokens: this.input + this.cacheRead + this.cacheWrite,
      outputTokens: this.output,
      cachedInputTokens: this.cacheRead,
      cacheWriteTokens: this.cacheWrite,
      reasoningTokens: 0,
    }
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
