// Translates a non-streaming generateContent answer into an OpenAI chat.completion.
import { UpstreamError } from '../../errors'
import { completionJson, type OpenAiToolCall } from '../openai-format'
import type { CompletionResult, ResponseIdentity } from '../types'
import { parseJsonOrNull } from '../upstream-errors'
import { mapFinishReason } from './finish'
import { toOpenAiToolCall } from './tool-calls'
import { readGeminiUsage } from './usage'
import type { GeminiResponse } from './wire'

export function readGeminiCompletion(body: string, identity: ResponseIdentity): CompletionResult {
  const parsed = parseJsonOrNull(body) as GeminiResponse | null
  if (parsed === null || typeof parsed !== 'object') {
    throw new UpstreamError('The google upstream returned a response that is not JSON.', 'upstream_bad_response')
  }
  const usage = readGeminiUsage(parsed.usageMetadata)
  const stamped = typeof parsed.modelVersion === 'string' ? { ...identity, model: parsed.modelVersion } : identity
  const candidate = Array.isArray(parsed.candidates) ? parsed.candidates[0] : undefined

  if (typeof candidate !== 'object' || candidate === null) {
    // A blocked prompt is an answer, not a failure: the client learns it was filtered, and the prompt is still billed.
    if (parsed.promptFeedback?.blockReason) {
      return { body: completionJson(stamped, { content: null }, 'content_filter', usage), text: '', usage }
    }
    throw new UpstreamError('The google upstream returned a response without candidates.', 'upstream_bad_response')
  }

  let content = ''
  let counted = ''
  const toolCalls: OpenAiToolCall[] = []
  for (const part of candidate.content?.parts ?? []) {
    if (typeof part.text === 'string' && part.thought !== true) content += part.text
    else if (typeof part.text === 'string') counted += part.text
    else if (part.functionCall) {
      const call = toOpenAiToolCall(part.functionCall)
      toolCalls.push(call)
      counted += call.function.name + call.function.arguments
    }
  }
  const finish = mapFinishReason(candidate.finishReason, toolCalls.length > 0)
  const message = {
    content: content !== '' ? content : toolCalls.length > 0 || finish === 'content_filter' ? null : '',
    tool_calls: toolCalls,
  }
  return { body: completionJson(stamped, message, finish, usage), text: content + counted, usage }
}
