// Maps Gemini's finishReason onto OpenAI's finish_reason.
import type { FinishReason } from '../openai-format'

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY'])

/** Gemini ends a function-calling turn with STOP; OpenAI clients wait for tool_calls before running tools. */
export function mapFinishReason(reason: string | undefined, calledTools: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length'
  if (reason !== undefined && FILTERED.has(reason)) return 'content_filter'
  return calledTools ? 'tool_calls' : 'stop'
}
