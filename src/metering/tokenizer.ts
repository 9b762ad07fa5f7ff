// Token counting with tiktoken: one o200k encoder built at boot, used to estimate prompts and count streamed text.
import { get_encoding } from 'tiktoken'
import type { ChatMessage, ChatRequest } from '../modules/chat/model'

// o200k_base is OpenAI's current encoding; for Anthropic and Gemini it is an estimate that provider usage later replaces.
const encoder = get_encoding('o200k_base')

// OpenAI's documented chat framing: every message costs 3 tokens, a name 1 more, and the reply is primed with 3.
const TOKENS_PER_MESSAGE = 3
const TOKENS_PER_NAME = 1
const REPLY_PRIMING_TOKENS = 3
// A low-detail image; high-detail images cost more, and the provider's usage corrects the estimate.
const TOKENS_PER_IMAGE = 85

export function countTextTokens(text: string): number {
  // encode_ordinary: user text containing "<|endoftext|>" is text, not a special token, and this path is 4× faster.
  return text.length === 0 ? 0 : encoder.encode_ordinary(text).length
}

/**
 * Counts of message texts by a 64-bit hash of the text. A call into tiktoken's WASM costs microseconds even for a word,
 * and agents re-send the same system prompt and the whole history on every turn: each text is tokenized once.
 */
const countsByHash = new Map<bigint | number, number>()
const MAX_CACHED_TEXTS = 50_000

function countCached(text: string): number {
  if (text.length === 0) return 0
  const key = Bun.hash(text)
  const cached = countsByHash.get(key)
  if (cached !== undefined) return cached
  const tokens = countTextTokens(text)
  // Cleared whole when full: simpler than LRU, and a refill costs one tokenization per text.
  if (countsByHash.size >= MAX_CACHED_TEXTS) countsByHash.clear()
  countsByHash.set(key, tokens)
  return tokens
}

function countContentTokens(content: ChatMessage['content']): number {
  if (content == null) return 0
  if (typeof content === 'string') return countCached(content)
  let tokens = 0
  for (const part of content) {
    const text = (part as { text?: unknown }).text
    if (typeof text === 'string') tokens += countCached(text)
    else if (part.type === 'image_url' || part.type === 'input_image' || part.type === 'image') tokens += TOKENS_PER_IMAGE
  }
  return tokens
}

/** Prompt tokens of a chat request as OpenAI counts them (an estimate for other providers). */
export function countPromptTokens(request: ChatRequest): number {
  let tokens = REPLY_PRIMING_TOKENS
  for (const message of request.messages) {
    tokens += TOKENS_PER_MESSAGE + countCached(message.role) + countContentTokens(message.content)
    if (message.name) tokens += TOKENS_PER_NAME + countCached(message.name)
    if (message.tool_calls) {
      for (const call of message.tool_calls) tokens += countCached(call.function.name) + countCached(call.function.arguments)
    }
  }
  if (request.tools && request.tools.length > 0) tokens += countCached(JSON.stringify(request.tools))
  return tokens
}
