// Translates a non-streaming Messages API answer into an OpenAI chat.completion.
import { UpstreamError } from '../../errors'
import { completionJson, type OpenAiToolCall } from '../openai-format'
import type { CompletionResult, ResponseIdentity } from '../types'
import { finishReasonOf, readAnthropicUsage } from './usage'
import type { AnthropicResponse, AnthropicResponseBlock } from './wire'

export function readAnthropicCompletion(body: string, identity: ResponseIdentity): CompletionResult {
  let parsed: AnthropicResponse | null
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new UpstreamError('The anthropic upstream returned a response that is not JSON.', 'upstream_bad_response')
  }
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.content)) {
    throw new UpstreamError('The anthropic upstream returned a response without a content array.', 'upstream_bad_response')
  }

  let content = ''
  // Billed but not text of the message: tool names and arguments, thinking.
  let argumentsText = ''
  const toolCalls: OpenAiToolCall[] = []
  for (const block of parsed.content as AnthropicResponseBlock[]) {
    if (block === null || typeof block !== 'object') continue
    if (block.type === 'text' && typeof block.text === 'string') content += block.text
    else if (block.type === 'tool_use' && typeof block.id === 'string' && typeof block.name === 'string') {
      const args = JSON.stringify(block.input ?? {})
      argumentsText += block.name + args
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: args } })
    }
    else if (block.type === 'thinking' && typeof block.thinking === 'string') argumentsText += block.thinking
    // thinking is counted (it is billed) but has no place in an OpenAI message; nor do redacted_thinking and server tools.
  }

  const usage = readAnthropicUsage(parsed.usage)
  const stamped = typeof parsed.model === 'string' && parsed.model !== '' ? { ...identity, model: parsed.model } : identity
  const message = { content: content === '' && toolCalls.length > 0 ? null : content, tool_calls: toolCalls }
  return {
    body: completionJson(stamped, message, finishReasonOf(parsed.stop_reason), usage),
    text: content + argumentsText,
    usage,
  }
}
